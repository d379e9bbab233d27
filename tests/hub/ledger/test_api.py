"""The ledger over HTTP: blocks and finality, proofs a light client checks, witnesses,
transactions, statements, the export, and refusals in the usual {"error", "detail"} shape."""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from pathlib import Path

import aiohttp
import pytest
from gridcoop_home.client.hub import HubClient
from gridcoop_home.ledger import bls
from gridcoop_home.ledger.entries import allocations_of
from gridcoop_home.ledger.light_client import check_entry_proof
from gridcoop_home.ledger.transactions import build_retirement, build_transfer
from sqlalchemy import text

from hub.cli import main
from hub.ledger.accounts.params import LedgerParams
from hub.ledger.service import sealer as service
from hub.ledger.service.witness import Witness
from hub.ledger.service.witness_store import WitnessStore
from hub.server.routes_ledger import LEDGER
from hub.server.runtime import CLEARING
from tests.hub.ledger.conftest import LEDGER_DOC, MakeLedgerHub, ledger_config
from tests.hub.ledger.scenarios import trade
from tests.hub.server.support import FakeClock, curves, served_routes


async def test_the_api_document_lists_exactly_the_served_routes_with_the_ledger(
    make_ledger_hub: MakeLedgerHub,
) -> None:
    hub = await make_ledger_hub()
    documented = {(m.upper(), p) for p, ops in LEDGER_DOC["paths"].items() for m in ops}
    assert served_routes(hub.app) == documented
    reply = await hub.raw("GET", "/api/v1/openapi.json")
    assert reply.body == LEDGER_DOC


async def test_before_the_chain_is_loaded_ledger_reads_answer_503_ledger_starting(
    make_ledger_hub: MakeLedgerHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = await make_ledger_hub()
    # A serving hub loads its chain only once it holds the leadership, a moment after start.
    monkeypatch.setattr(type(hub.app[LEDGER]), "started", property(lambda _self: False))

    reply = await hub.raw("GET", "/api/v1/ledger/head")

    assert (reply.status, reply.body["error"]) == (503, "ledger_starting")


async def test_a_settled_trade_is_in_final_blocks_a_light_client_can_check(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock
) -> None:
    hub = await make_ledger_hub()
    _seller, buyer, _interval = await trade(hub, clock)
    head = (await hub.raw("GET", "/api/v1/ledger/head")).body
    assert head["height"] == head["final_height"] == 2
    blocks = (await hub.raw("GET", "/api/v1/ledger/blocks")).body["blocks"]
    assert [b["height"] for b in blocks] == [0, 1, 2] and all(b["final"] for b in blocks)
    block = (await hub.raw("GET", "/api/v1/ledger/blocks/2")).body
    kinds = [json.loads(e["data"])["kind"] for e in block["entries"]]
    assert kinds == ["meter_readings", "clearing", "settled_interval"]  # entry format 2

    answer = (await hub.raw("GET", f"/api/v1/ledger/homes/{buyer.home_id}")).body
    assert answer["account"]["green_certificates"] == 6
    trusted = {v["index"]: bytes.fromhex(v["public_key"]) for v in head["validators"]}
    checked = check_entry_proof(answer["settlement"], trusted, threshold=1)
    assert checked.ok, checked.reason
    settled = checked.settlement_of(buyer.home_id)
    assert settled is not None
    assert (settled["taken_wh"], settled["allocated_in_wh"], settled["imbalance_wh"]) == (
        900,
        600,
        300,
    )
    assert settled["imbalance_mminor"] == -300 * 30  # the extra 300 Wh at the retail price
    assert (
        checked.balance_minor_of(buyer.home_id)
        == answer["account"]["balance_minor"]
        == settled["balance_minor"]
    )
    assert checked.balance_minor_of("no-such-home") is None
    altered = copy.deepcopy(answer["settlement"])
    rows = altered["entry"]["settlements"]["rows"]
    [buyer_row] = [row for row in rows if row[0] == buyer.home_id]
    buyer_row[-1] = 100  # balance_minor, the last column
    assert not check_entry_proof(altered, trusted, threshold=1).ok
    assert not check_entry_proof(answer["settlement"], trusted, threshold=2).ok


async def test_a_chain_begun_in_entry_format_1_keeps_it_and_its_proofs_still_check(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hub upgraded in place keeps writing the format its chain's genesis names.
    monkeypatch.setattr(service, "LedgerParams", functools.partial(LedgerParams, entry_format=1))
    hub = await make_ledger_hub()
    _seller, buyer, _interval = await trade(hub, clock)
    block = (await hub.raw("GET", "/api/v1/ledger/blocks/2")).body
    kinds = [json.loads(e["data"])["kind"] for e in block["entries"]]
    assert kinds == [
        "readings",
        "readings",
        "clearing",
        "settlement",
        "settlement",
        "mint",
        "burn",
        "flex_award",
    ]
    head = (await hub.raw("GET", "/api/v1/ledger/head")).body
    answer = (await hub.raw("GET", f"/api/v1/ledger/homes/{buyer.home_id}")).body
    trusted = {v["index"]: bytes.fromhex(v["public_key"]) for v in head["validators"]}
    checked = check_entry_proof(answer["settlement"], trusted, threshold=1)
    assert checked.ok and checked.entry is not None and checked.entry["kind"] == "settlement"
    assert checked.balance_minor_of(buyer.home_id) == answer["account"]["balance_minor"] < 0


async def test_homes_retire_green_certificates_once_and_spend_flexibility_tokens(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock
) -> None:
    hub = await make_ledger_hub()
    seller, buyer, _ = await trade(hub, clock)
    state = hub.app[LEDGER].state
    [lot] = state.certificates[buyer.home_id]
    retire = build_retirement(
        buyer.key,
        buyer.home_id,
        lot=lot,
        units=6,
        purpose="EV charging 7.4 kWh",
        seq=1,
        ts=hub.now_ms(),
    )
    reply = await hub.signed(buyer.key, "POST", "/api/v1/ledger/transactions", retire)
    assert reply.status == 201 and reply.body["status"] == "pending"
    again = build_retirement(
        buyer.key, buyer.home_id, lot=lot, units=1, purpose="again", seq=2, ts=hub.now_ms()
    )
    reply = await hub.signed(buyer.key, "POST", "/api/v1/ledger/transactions", again)
    assert reply.status == 409 and reply.body["error"] == "already_retired"
    forged = {
        **build_retirement(buyer.key, buyer.home_id, lot=lot, units=1, purpose="x", seq=3, ts=1),
        "units": 2,
    }
    assert (await hub.signed(buyer.key, "POST", "/api/v1/ledger/transactions", forged)).body[
        "error"
    ] == "bad_signature"
    others = build_retirement(buyer.key, buyer.home_id, lot=lot, units=1, purpose="x", seq=4, ts=1)
    assert (
        await hub.signed(seller.key, "POST", "/api/v1/ledger/transactions", others)
    ).status == 403
    flex = build_transfer(
        seller.key, seller.home_id, asset="flex", units=1, memo="community", seq=5, ts=1
    )
    assert (await hub.signed(seller.key, "POST", "/api/v1/ledger/transactions", flex)).status == 201
    broke = build_transfer(seller.key, seller.home_id, asset="flex", units=1, seq=6, ts=1)
    reply = await hub.signed(seller.key, "POST", "/api/v1/ledger/transactions", broke)
    assert (reply.status, reply.body["error"]) == (409, "insufficient_tokens")
    assert (
        await hub.signed(seller.key, "POST", "/api/v1/ledger/transactions", {"kind": "mint"})
    ).status == 400

    await hub.app[LEDGER].seal()
    public = (await hub.raw("GET", "/api/v1/ledger/retirements")).body["retirements"]
    assert [(r["home_id"], r["units"], r["purpose"]) for r in public] == [
        (buyer.home_id, 6, "EV charging 7.4 kWh")
    ]
    proof = (await hub.raw("GET", f"/api/v1/ledger/entries/{public[0]['entry_hash']}")).body
    assert proof["height"] == 3 and proof["entry"]["kind"] == "retire"
    assert (await hub.raw("GET", "/api/v1/ledger/entries/" + "0" * 64)).status == 404


async def test_flexibility_tokens_become_the_homes_priority_in_clearing(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock
) -> None:
    hub = await make_ledger_hub()
    seller, buyer, interval = await trade(hub, clock)
    assert hub.app[LEDGER].flex_priorities() == {seller.home_id: 1}
    later = interval + 3 * 900
    clock.set(later - 300)
    await seller.client.submit_bid(later, curves(sell=[(10, 500, "pv")]))
    await buyer.client.submit_bid(later, curves(buy=[(25, 500, "base")]))
    clock.set(hub.config.gate_closure_of(later) + 1)
    await hub.app[CLEARING].clear(later)
    head = hub.app[LEDGER].head.header.height
    block = (await hub.raw("GET", f"/api/v1/ledger/blocks/{head}")).body
    [clearing] = [
        json.loads(e["data"]) for e in block["entries"] if '"kind":"clearing"' in e["data"]
    ]
    assert {a["home_id"]: a["priority"] for a in allocations_of(clearing)} == {
        seller.home_id: 1,
        buyer.home_id: 0,
    }


async def test_a_witness_co_signs_until_blocks_are_final_and_forgeries_are_refused(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    hub = await make_ledger_hub(ledger_config(tmp_path, threshold=2))
    seller, _buyer, _ = await trade(hub, clock)
    secret = bls.generate_secret_key(b"neighbour witness key seed 00000")
    store = WitnessStore.open(tmp_path / "witness", bls.get_backend().secret_to_public(secret))
    async with aiohttp.ClientSession() as session:
        client = HubClient(session, hub.url, home_key=seller.key)
        witness = Witness(client, secret, store, name="neighbour")
        await witness.register()
        await witness.register()  # idempotent
        bad_pop = {
            "name": "rogue",
            "public_key": bls.get_backend().secret_to_public(secret + 1).hex(),
            "pop": "c0" + "00" * 95,
        }
        reply = await hub.signed(seller.key, "POST", "/api/v1/ledger/validators", bad_pop)
        assert reply.status in (401, 409)
        await hub.app[LEDGER].seal()  # records the registration (block 3); active from block 4
        await hub.app[LEDGER].seal()  # block 4
        assert await witness.step() == 5
    assert witness.signed == [4]
    blocks = (await hub.raw("GET", "/api/v1/ledger/blocks")).body["blocks"]
    assert [b["final"] for b in blocks] == [False, False, False, False, True]
    assert blocks[4]["signers"] == [0, 1]

    forged = bls.get_backend().sign(secret + 7, b"anything")
    reply = await hub.raw(
        "POST", "/api/v1/ledger/blocks/4/signatures", {"validator": 1, "signature": forged.hex()}
    )
    assert (reply.status, reply.body["error"]) == (401, "bad_block_signature")
    reply = await hub.raw(
        "POST", "/api/v1/ledger/blocks/2/signatures", {"validator": 1, "signature": forged.hex()}
    )
    assert (reply.status, reply.body["error"]) == (403, "validator_not_active")
    reply = await hub.raw(
        "POST", "/api/v1/ledger/blocks/99/signatures", {"validator": 1, "signature": forged.hex()}
    )
    assert (reply.status, reply.body["error"]) == (404, "unknown_block")
    reply = await hub.raw("POST", "/api/v1/ledger/blocks/4/signatures", {"validator": "one"})
    assert reply.status == 400
    assert (await hub.raw("GET", "/api/v1/ledger/blocks/x")).status == 400


async def test_statements_in_json_and_csv_add_up(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock
) -> None:
    hub = await make_ledger_hub()
    _seller, buyer, interval = await trade(hub, clock)
    from datetime import UTC, datetime

    month = datetime.fromtimestamp(interval, UTC).strftime("%Y-%m")
    doc = (await hub.signed(buyer.key, "GET", f"/api/v1/ledger/statements/{month}")).body
    assert doc["intervals"] == 1 and doc["opening_balance_minor"] == 0
    balance = hub.app[LEDGER].state.account(buyer.home_id)["balance_minor"]
    assert doc["total_amount_minor"] == doc["closing_balance_minor"] == balance < 0
    headers = hub.signed_headers(buyer.key, "GET", f"/api/v1/ledger/statements/{month}?format=csv")
    async with hub.session.get(
        hub.url + f"/api/v1/ledger/statements/{month}?format=csv", headers=headers
    ) as response:
        lines = (await response.text()).splitlines()
    assert lines[0].startswith("interval_start,interval_start_utc,metered,taken_wh")
    assert lines[1].endswith(f",{balance},{balance}") and len(lines) == 2
    assert (await hub.signed(buyer.key, "GET", "/api/v1/ledger/statements/2026-13")).status == 400


async def test_the_export_and_the_database_verify_and_a_tampered_row_is_named(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = await make_ledger_hub()
    await trade(hub, clock)
    async with hub.session.get(hub.url + "/api/v1/ledger/export") as response:
        (tmp_path / "chain.jsonl").write_bytes(await response.read())
    assert main(["--log-level", "error", "verify", "--export", str(tmp_path / "chain.jsonl")]) == 0
    assert (
        await asyncio.to_thread(main, ["--log-level", "error", "verify", "--db", hub.db_url]) == 0
    )
    assert "OK: 3 blocks" in capsys.readouterr().out
    async with hub.store._engine.begin() as conn:
        await conn.execute(
            text("UPDATE ledger_holdings SET units = units + 5 WHERE asset = 'flex'")
        )
    assert (
        await asyncio.to_thread(main, ["--log-level", "error", "verify", "--db", hub.db_url]) == 1
    )
    assert "stored holdings disagree with the entries" in capsys.readouterr().out
    async with hub.store._engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE ledger_entries SET data = replace(data, '\"bus\"\\:null', '\"bus\"\\:7') "
                "WHERE height = 1 AND idx = 0"
            )
        )
    assert (
        await asyncio.to_thread(main, ["--log-level", "error", "verify", "--db", hub.db_url]) == 1
    )
    assert (
        "BAD block 1 entry 0: content does not match its recorded hash" in capsys.readouterr().out
    )


async def test_the_chain_survives_a_restart(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> None:
    db = tmp_path / "restart.db"
    first = await make_ledger_hub(db_path=db)
    seller, _buyer, _ = await trade(first, clock)
    head = first.app[LEDGER].head
    await first.stop()
    second = await make_ledger_hub(db_path=db)
    ledger = second.app[LEDGER]
    assert ledger.head == head
    assert ledger.state.flex == {seller.home_id: 1}
    block = await ledger.seal()
    assert block.header.prev_hash == head.header.hash


async def test_ledger_routes_are_absent_when_the_ledger_is_off(
    make_ledger_hub: MakeLedgerHub,
) -> None:
    from hub.config import HubConfig

    hub = await make_ledger_hub(HubConfig())
    assert (await hub.raw("GET", "/api/v1/ledger/head")).status == 404
    assert "/api/v1/ledger/head" not in (await hub.raw("GET", "/api/v1/openapi.json")).body["paths"]
