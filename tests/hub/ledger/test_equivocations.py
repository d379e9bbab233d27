"""Equivocation proofs at the hub: two headers at one height, both signed with the hub's key,
are checked against the chain's validators, kept (no API deletes them), listed, and counted by
`verify`; anything else is refused with a reason."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from gridcoop_home.ledger.block import SignedHeader, signing_message
from gridcoop_home.ledger.bls import generate_secret_key, get_backend
from gridcoop_home.ledger.heads import Equivocation, header_from_wire
from gridcoop_home.ledger.keyfile import load_or_create_key

from hub.cli import main
from tests.hub.ledger.conftest import MakeLedgerHub
from tests.hub.ledger.factory import trade_chain
from tests.hub.ledger.scenarios import trade
from tests.hub.server.support import FakeClock, Hub


async def second_block_two(hub: Hub, tmp_path: Path, key: int | None = None) -> Equivocation:
    """Block 2 as the hub serves it, and another block 2 signed with the hub's key file (what an
    operator holding that file can make)."""
    served = header_from_wire((await hub.raw("GET", "/api/v1/ledger/blocks/2")).body["block"])
    other = dataclasses.replace(served.header, merkle_root="ab" * 32, entry_count=0)
    secret = load_or_create_key(tmp_path / "hub-ledger.key") if key is None else key
    signature = get_backend().sign(secret, signing_message(other.hash))
    return Equivocation(served, SignedHeader(other, 1, signature), reporter="witness next door")


async def test_a_proof_is_kept_once_listed_and_never_deleted(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = await make_ledger_hub()
    await trade(hub, clock)
    proof = await second_block_two(hub, tmp_path)

    reply = await hub.raw("POST", "/api/v1/ledger/equivocations", proof.to_wire())
    assert (reply.status, reply.body["status"], reply.body["height"]) == (201, "stored", 2)
    flipped = Equivocation(proof.second, proof.first)  # the same two blocks
    again = await hub.raw("POST", "/api/v1/ledger/equivocations", flipped.to_wire())
    assert (again.status, again.body["status"]) == (200, "already_known")

    [kept] = (await hub.raw("GET", "/api/v1/ledger/equivocations")).body["equivocations"]
    assert (kept["proof_id"], kept["height"], kept["reporter"]) == (
        proof.proof_id,
        2,
        "witness next door",
    )
    stored = Equivocation.from_wire(kept["proof"])
    assert stored.problem() is None and sorted(stored.validators) == [0]
    assert (await hub.raw("DELETE", "/api/v1/ledger/equivocations")).status == 405
    assert (
        await asyncio.to_thread(main, ["--log-level", "error", "verify", "--db", hub.db_url]) == 1
    )
    assert "the hub holds 1 equivocation proof(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "status", "reason", "detail"),
    [
        (lambda p: {"format": "something else"}, 400, "malformed", "not an equivocation proof"),
        (lambda p: [1, 2], 400, "malformed", "not an equivocation proof"),
        (lambda p: {**p, "second": p["first"]}, 422, "invalid_entry", "not two"),
        (
            lambda p: {**p, "second": {**p["second"], "height": 3}},
            422,
            "invalid_entry",
            "stated hash",
        ),
        (
            lambda p: {**p, "second": {**p["second"], "signers": [1]}},
            422,
            "invalid_entry",
            "hub",
        ),
        (
            lambda p: {**p, "second": {**p["second"], "signature": p["first"]["signature"]}},
            401,
            "bad_block_signature",
            "does not verify",
        ),
    ],
)
async def test_anything_but_a_proof_is_refused_with_a_reason(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    tmp_path: Path,
    change: Any,
    status: int,
    reason: str,
    detail: str,
) -> None:
    hub = await make_ledger_hub()
    await trade(hub, clock)
    proof = (await second_block_two(hub, tmp_path)).to_wire()

    reply = await hub.raw("POST", "/api/v1/ledger/equivocations", change(proof))

    assert (reply.status, reply.body["error"]) == (status, reason)
    assert detail in reply.body["detail"]
    assert (await hub.raw("GET", "/api/v1/ledger/equivocations")).body["equivocations"] == []


@pytest.mark.parametrize(
    "change",
    [
        lambda p: {**p, "reporter": "\ud800"},
        lambda p: {**p, "reporter": "a\x00b"},
        lambda p: {**p, "chain_id": "x" * 201},
        lambda p: {**p, "first": {**p["first"], "height": 1e400}},
        lambda p: {**p, "first": {**p["first"], "prev_hash": "\x00" * 64}},
        lambda p: {**p, "first": {**p["first"], "signers": [0, 10**9]}},
        lambda p: {**p, "validators": {"0": "zz"}},
        lambda p: {**p, "validators": {"\u00b2": "00"}},
    ],
)
async def test_hostile_fields_are_refused_as_malformed_not_stored(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path, change: Any
) -> None:
    hub = await make_ledger_hub()
    await trade(hub, clock)
    proof = (await second_block_two(hub, tmp_path)).to_wire()
    body = json.dumps(change(proof)).encode()
    reply = await hub.raw(
        "POST", "/api/v1/ledger/equivocations", body, {"Content-Type": "application/json"}
    )
    assert (reply.status, reply.body["error"]) == (400, "malformed")


async def test_a_header_signed_with_another_key_proves_nothing_against_this_hub(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> None:
    hub = await make_ledger_hub()
    await trade(hub, clock)
    stranger = generate_secret_key(b"a key that is no validator here0")
    proof = await second_block_two(hub, tmp_path, key=stranger)
    assert proof.problem() is not None
    reply = await hub.raw("POST", "/api/v1/ledger/equivocations", proof.to_wire())
    assert (reply.status, reply.body["error"]) == (401, "bad_block_signature")


def test_a_proof_checks_its_two_headers_and_round_trips() -> None:
    seen, other = trade_chain(), trade_chain(key_salt="another run ")
    keys = {0: seen.backend.secret_to_public(seen.hub_secret)}
    proof = Equivocation(seen.blocks[2].signed, other.blocks[2].signed, keys, "test-chain")
    assert proof.problem() is None
    assert Equivocation.from_wire(proof.to_wire()) == proof
    assert proof.proof_id == Equivocation(proof.second, proof.first).proof_id
    skewed = Equivocation(seen.blocks[2].signed, other.blocks[3].signed, keys)
    assert skewed.problem() == "the headers are at heights 2 and 3, not one"
    same = Equivocation(seen.blocks[2].signed, seen.blocks[2].signed, keys)
    assert "not two" in (same.problem() or "")
    assert "not validators known here" in (proof.problem(validators={}) or "")
    with pytest.raises(ValueError, match="first and a second header"):
        Equivocation.from_wire({"format": "gridcoop-equivocation-v1"})
