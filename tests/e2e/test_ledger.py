"""The ledger explorer in a real browser: against a hub with the ledger switched on, and the
in-browser Merkle check against hub.ledger's own proofs. Skipped (with the reason) while the hub
has no ledger."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from gridcoop_home.ledger.block import SignedHeader, signing_message
from gridcoop_home.ledger.bls import get_backend
from gridcoop_home.ledger.heads import Equivocation, header_from_wire
from gridcoop_home.ledger.keyfile import load_or_create_key
from playwright.sync_api import Browser, Page, expect

from hub.config import HubConfig
from tests.e2e.conftest import open_dashboard
from tests.e2e.harness import SCREENSHOTS, DemoHub, HubProcess, get_json

merkle = pytest.importorskip("gridcoop_home.ledger.merkle", reason="no ledger (hub.ledger)")
canonical = pytest.importorskip("gridcoop_home.protocol.canonical")


@pytest.fixture(scope="module")
def ledger_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hub's database, configuration and BLS key file."""
    return tmp_path_factory.mktemp("ledger-hub")


@pytest.fixture(scope="module")
def ledger_hub(ledger_folder: Path) -> Iterator[HubProcess]:
    if "ledger" not in {f.name for f in dataclasses.fields(HubConfig)}:
        pytest.skip("this hub's configuration has no [ledger] section yet")
    folder = ledger_folder
    config = folder / "hub.toml"
    config.write_text(
        "interval_seconds = 3\ngate_closure_seconds = 1\nallow_short_intervals = true\n"
        f'[ledger]\nenabled = true\nkey_file = "{folder / "ledger.key"}"\n'
    )
    hub = HubProcess("ledger", "serve", "--config", str(config), "--db", f"sqlite:///{folder}/h.db")
    try:
        hub.wait_until_up()
        deadline = time.monotonic() + 20
        while True:  # 503 ledger_starting until the hub has won leadership and loaded it
            status, head = get_json(f"{hub.url}/api/v1/ledger/head")
            if status == 200 and head["height"] >= 2:
                break
            assert time.monotonic() < deadline, f"no ledger blocks ({status} {head})"
            time.sleep(0.3)
        yield hub
    finally:
        hub.stop()


def test_ledger_explorer_shows_blocks_and_checks_a_proof(
    browser: Browser, ledger_hub: HubProcess
) -> None:
    page, problems = open_dashboard(browser, ledger_hub.url + "/")
    try:
        expect(page.locator("#ledger-status")).to_contain_text("/api/v1/ledger")
        expect(page.locator("#network-status")).to_contain_text("Not configured")
        page.locator("#blocks-table tbody tr").first.get_by_role("button").click()
        page.locator("#ledger-block tbody button").first.click()
        verdict = page.locator("#proof-result .verdict")
        expect(verdict).to_have_attribute("data-verified", "true")
        page.locator("#ledger").screenshot(path=SCREENSHOTS / "ledger.png")
        assert problems.messages == []
    finally:
        page.context.close()


def test_an_equivocation_proof_the_hub_keeps_is_the_loudest_thing_on_the_page(
    browser: Browser, ledger_hub: HubProcess, ledger_folder: Path
) -> None:
    """Two blocks at height 1 signed with the hub's key file (as its operator can): once a
    witness reports them, the dashboard shows a banner and the proof."""
    status, answer = get_json(f"{ledger_hub.url}/api/v1/ledger/blocks/1")
    assert status == 200
    served = header_from_wire(answer["block"])
    other = dataclasses.replace(served.header, merkle_root="ab" * 32, entry_count=0)
    secret = load_or_create_key(ledger_folder / "ledger.key")
    signature = get_backend().sign(secret, signing_message(other.hash))
    proof = Equivocation(served, SignedHeader(other, 1, signature), reporter="witness e2e")
    request = urllib.request.Request(
        f"{ledger_hub.url}/api/v1/ledger/equivocations",
        data=json.dumps(proof.to_wire()).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    page, problems = open_dashboard(browser, ledger_hub.url + "/")
    try:
        banner = page.locator("#equivocation-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("two different blocks at height 1")
        expect(page.locator("#equivocations-table tbody tr")).to_have_count(1)
        expect(page.locator("#equivocations-table tbody tr")).to_contain_text("witness e2e")
        page.screenshot(path=SCREENSHOTS / "ledger-equivocation.png")
        assert problems.messages == []
    finally:
        page.context.close()


def test_browser_merkle_check_agrees_with_the_ledger(browser: Browser, demo_hub: DemoHub) -> None:
    """rootFromProof and entryHash (static/js/merkle.js) against hub.ledger for many trees."""
    entry = {"kind": "clearing", "name": "Дом 7 ☀", "units": 12, "ok": True, "list": [1, None]}
    cases = []
    for count in range(1, 10):
        leaves = [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(count)]
        root = merkle.merkle_root(leaves).hex()
        for index in range(count):
            proof = [p.hex() for p in merkle.merkle_proof(leaves, index)]
            cases.append([leaves[index].hex(), index, count, proof, root])
    page: Page
    page, _ = open_dashboard(browser, demo_hub.url + "/")
    try:
        result = page.evaluate(
            """async ([cases, entry]) => {
                const m = await import('/dashboard/js/merkle.js');
                const roots = [];
                for (const [leaf, index, count, proof] of cases) {
                    roots.push(await m.rootFromProof(leaf, index, count, proof));
                }
                const tampered = await m.rootFromProof(cases[5][0], cases[5][1] ^ 1,
                                                       cases[5][2], cases[5][3]);
                return {roots, tampered, hash: await m.entryHash(entry)};
            }""",
            [cases, entry],
        )
    finally:
        page.context.close()
    assert result["roots"] == [case[4] for case in cases]
    assert result["tampered"] != cases[5][4]
    assert result["hash"] == merkle.leaf_hash(canonical.canonical_json(entry)).hex()
