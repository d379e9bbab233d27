"""The operator rewrites final history (issue 16), and is caught three ways.

The reproduction: a home's retirement of green certificates is sealed in a block that a witness
co-signed, so it is final. With the hub stopped, the operator deletes the entry, fixes the
holdings and re-signs the blocks from there with the hub key (tests/hub/ledger/rewrite.py). The
rewritten chain passes a plain `verify`. It is caught by (a) the witness, restarted or running,
which refuses it and reports an equivocation proof the hub keeps and shows; (b) `verify --heads`
with the heads the witness or the home kept; (c) the home's light client, fed the head it saw.
On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from gridcoop_home.client import hub as hub_client
from gridcoop_home.ledger.heads import Equivocation
from gridcoop_home.ledger.light_client import LightClient

from hub.cli import main
from hub.ledger.service.witness import WitnessHalted
from hub.ledger.service.witness_http import witness_app
from hub.server.app import create_app
from hub.server.routes_ledger import LEDGER
from hub.store import Store
from tests.hub.ledger.conftest import ledger_config, ledger_conformance_problems
from tests.hub.ledger.rewrite import rewrite_history
from tests.hub.ledger.scenarios import (
    FinalRetirement,
    blocks,
    check_light_client,
    final_retirement,
    open_witness,
)
from tests.hub.server.support import Exchange, FakeClock, Hub, json_recorder

Serve = Callable[[], Awaitable[Hub]]


@pytest.fixture
async def serve(
    db_url: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Serve]:
    """Start a hub (threshold 2) on the test's database: the same database and, after the
    first, the same address each time (a witness keeps following one hub URL)."""
    monkeypatch.setattr(hub_client, "now_ms", clock.ms)
    session = aiohttp.ClientSession()
    served: list[Hub] = []
    ports: list[int] = []

    async def start() -> Hub:
        store = await Store.open(db_url)
        config = ledger_config(tmp_path, threshold=2)
        app = create_app(config, store, clock=clock, run_clearing=False)
        exchanges: list[Exchange] = []
        app.middlewares.insert(0, json_recorder(exchanges))
        server = TestServer(app, host="127.0.0.1", port=ports[0] if ports else None)
        await server.start_server()
        ports.append(server.port)
        served.append(Hub(app, server, store, clock, config, session, db_url, exchanges))
        return served[-1]

    yield start
    for hub in served:
        await hub.server.close()
        await hub.store.close()
    await session.close()
    problems = ledger_conformance_problems([ex for hub in served for ex in hub.exchanges])
    assert not problems, "answers that break the API document:\n" + "\n".join(problems)


async def rewritten(serve: Serve, clock: FakeClock, tmp_path: Path) -> tuple[Hub, FinalRetirement]:
    """The scenario, then the operator's rewrite with the hub stopped, then the hub again."""
    hub = await serve()
    story = await final_retirement(hub, clock, tmp_path)
    await hub.server.close()
    await hub.store.close()
    height = await rewrite_history(hub.db_url, tmp_path / "hub-ledger.key", story.retirement)
    assert height == story.height == 4
    return await serve(), story


async def verify(*args: str) -> int:
    return await asyncio.to_thread(main, ["--log-level", "error", "verify", *args])


async def test_the_rewrite_passes_a_plain_verify_and_the_retirement_is_gone(
    serve: Serve, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, story = await rewritten(serve, clock, tmp_path)

    assert await verify("--db", hub.db_url) == 0  # why heads are needed: every check passes
    out = capsys.readouterr().out
    assert out.startswith("OK:") and "not final yet" in out
    assert (await hub.raw("GET", "/api/v1/ledger/retirements")).body["retirements"] == []
    account = hub.app[LEDGER].state.account(story.buyer.home_id)
    assert account["green_certificates"] == 6  # spendable again


async def test_a_restarted_witness_refuses_the_rewritten_blocks_and_the_hub_keeps_its_proof(
    serve: Serve, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, story = await rewritten(serve, clock, tmp_path)
    witness, store = open_witness(hub, story.witness_secret, story.witness_dir)

    with pytest.raises(WitnessHalted, match="equivocation: the hub signed two blocks at height 4"):
        await witness.step()

    assert witness.signed == [], "it co-signed nothing"
    assert [(b["height"], b["signers"], b["final"]) for b in await blocks(hub, 4)] == [
        (4, [0], False),
        (5, [0], False),
    ]
    [proof] = witness.equivocations()
    assert proof.height == 4 and proof.problem() is None
    assert proof.first.signers == proof.second.signers == 0b01  # both signed by the hub alone
    assert proof.second.header.hash == (await blocks(hub, 4, 1))[0]["hash"]
    kept = (await hub.raw("GET", "/api/v1/ledger/equivocations")).body["equivocations"]
    assert [(item["height"], item["proof_id"]) for item in kept] == [(4, proof.proof_id)]
    assert Equivocation.from_wire(kept[0]["proof"]).problem() is None
    assert await verify("--db", hub.db_url) == 1
    assert "the hub holds 1 equivocation proof(s)" in capsys.readouterr().out

    # Its own endpoint serves the proof; it stays halted, also after another restart.
    server = TestServer(witness_app(witness), host="127.0.0.1")
    await server.start_server()
    try:
        async with hub.session.get(server.make_url("/equivocations")) as response:
            served = await response.json()
        async with hub.session.get(server.make_url("/status")) as response:
            status = await response.json()
    finally:
        await server.close()
    assert [Equivocation.from_wire(p).proof_id for p in served["equivocations"]] == [proof.proof_id]
    assert status["halted"] and status["equivocations"] == 1
    store.close()
    again, store = open_witness(hub, story.witness_secret, story.witness_dir)
    with pytest.raises(WitnessHalted, match="equivocation proof"):
        await again.step()
    store.close()
    assert [b["signers"] for b in await blocks(hub, 4)] == [[0], [0]]


async def test_a_running_witness_catches_the_rewrite_when_the_hub_comes_back(
    serve: Serve, clock: FakeClock, tmp_path: Path
) -> None:
    first = await serve()
    story = await final_retirement(first, clock, tmp_path)
    witness, store = open_witness(first, story.witness_secret, story.witness_dir)
    assert await witness.step() == 6  # it catches up from its memory, signing nothing again
    assert witness.signed == []
    address = first.url
    await first.server.close()
    await first.store.close()
    await rewrite_history(first.db_url, tmp_path / "hub-ledger.key", story.retirement)
    hub = await serve()
    assert hub.url == address

    with pytest.raises(WitnessHalted, match="at height 5"):
        await witness.step()

    store.close()
    kept = (await hub.raw("GET", "/api/v1/ledger/equivocations")).body["equivocations"]
    assert [item["height"] for item in kept] == [5]


async def test_verify_with_the_heads_a_witness_or_a_home_kept_fails_on_the_rewritten_blocks(
    serve: Serve, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = await serve()
    story = await final_retirement(hub, clock, tmp_path)
    witness, store = open_witness(hub, story.witness_secret, story.witness_dir)
    witness_heads = tmp_path / "witness-heads.jsonl"
    witness_heads.write_text("".join(json.dumps(h.to_wire()) + "\n" for h in witness.heads(10)))
    home_heads = tmp_path / "home-heads.jsonl"
    home = LightClient.from_dict(story.light)
    home_heads.write_text(json.dumps(home.signed_head()) + "\n")
    store.close()
    assert await verify("--db", hub.db_url, "--heads", str(witness_heads)) == 0
    assert await verify("--db", hub.db_url, "--heads", str(home_heads)) == 0
    assert "6 signed heads from 1 sources match this chain" in capsys.readouterr().out
    await hub.server.close()
    await hub.store.close()
    await rewrite_history(hub.db_url, tmp_path / "hub-ledger.key", story.retirement)

    assert await verify("--db", hub.db_url, "--heads", str(witness_heads)) == 1
    out = capsys.readouterr().out
    assert "BAD block 4: a signed head differs from this chain: block 4 (head from witness" in out
    assert "signed by validators [0, 1], final (threshold 2): history was rewritten" in out
    assert "signed head differs: block 5 (head from witness" in out

    assert await verify("--db", hub.db_url, "--heads", str(home_heads)) == 1
    assert f"block 5 (head from home {story.buyer.home_id})" in capsys.readouterr().out


async def test_verify_reads_the_heads_from_the_witness_endpoint(
    serve: Serve, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = await serve()
    story = await final_retirement(hub, clock, tmp_path)
    address = hub.url
    await hub.server.close()
    await hub.store.close()
    await rewrite_history(hub.db_url, tmp_path / "hub-ledger.key", story.retirement)
    witness, store = open_witness(hub, story.witness_secret, story.witness_dir, url=address)
    server = TestServer(witness_app(witness), host="127.0.0.1")
    await server.start_server()
    try:
        assert await verify("--db", hub.db_url, "--heads", str(server.make_url("/heads"))) == 1
    finally:
        await server.close()
        store.close()
    out = capsys.readouterr().out
    assert "BAD block 4: a signed head differs from this chain: block 4 (head from witness" in out

    assert await verify("--db", hub.db_url, "--heads", "http://127.0.0.1:9/heads") == 2
    assert "cannot read signed heads from http://127.0.0.1:9/heads" in capsys.readouterr().out


async def test_the_home_light_client_fed_the_head_it_saw_reports_the_fork_with_both_headers(
    serve: Serve, clock: FakeClock, tmp_path: Path
) -> None:
    hub, story = await rewritten(serve, clock, tmp_path)
    home = LightClient.from_dict(story.light)
    assert home.head is not None
    seen = home.head

    head_verdict, balance_verdict = await check_light_client(hub, home)

    assert head_verdict.status == "fork" and "block 5 has another hash now" in head_verdict.reason
    assert head_verdict.known == seen and seen.signers == 0b11  # hub and witness: final
    assert head_verdict.found is not None
    assert head_verdict.found.header.height == 5 and head_verdict.found.signers == 0b01
    assert head_verdict.found.header.hash != seen.header.hash
    proof = head_verdict.equivocation(home.validators)
    assert proof is not None and proof.problem(home.validators) is None
    assert not balance_verdict.ok
    assert home.head == seen, "a fork never moves the head it keeps"
