"""The witness's memory: what it checked and signed is on disk before a signature leaves it,
one block per height, bound to one witness key; a witness without its memory does not sign
over blocks its key signed; its endpoint lists its heads."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from gridcoop_home.client.hub import HubClient
from gridcoop_home.ledger import bls
from gridcoop_home.ledger.block import BlockHeader, SignedHeader
from gridcoop_home.ledger.heads import Equivocation
from sqlalchemy import text

from hub.ledger.service.witness import Witness, WitnessHalted
from hub.ledger.service.witness_http import witness_app
from hub.ledger.service.witness_store import STORE_FILE, StoreConflict, WitnessStore
from hub.server.routes_ledger import LEDGER
from tests.hub.ledger.conftest import MakeLedgerHub, ledger_config
from tests.hub.ledger.factory import trade_chain
from tests.hub.ledger.scenarios import WITNESS_SEED, blocks, open_witness, trade
from tests.hub.server.support import FakeClock, Home, Hub

SECRET = bls.generate_secret_key(WITNESS_SEED)
KEY = bls.get_backend().secret_to_public(SECRET)


def test_the_store_keeps_one_block_per_height_across_reopening(tmp_path: Path) -> None:
    chain, other = trade_chain(), trade_chain(key_salt="another history ")
    store = WitnessStore.open(tmp_path, KEY)
    store.record(chain.blocks[1].signed)
    store.record(chain.blocks[2].signed, signed_as=1, signature=b"\x01" * 96)
    store.commit()
    store.close()

    store = WitnessStore.open(tmp_path, KEY)
    recorded = store.recorded(2)
    assert recorded is not None and recorded.header == chain.blocks[2].signed
    assert (recorded.signed_as, recorded.signature) == (1, b"\x01" * 96)
    assert store.last_height() == 2 and store.signed_count() == 1
    with pytest.raises(StoreConflict, match="block 1 is recorded as"):
        store.record(other.blocks[1].signed)
    store.record(chain.blocks[1].signed)  # the same block again is no conflict
    assert [head.height for head in store.heads(5, "me")] == [2, 1]
    store.close()


def test_the_store_belongs_to_one_witness_key(tmp_path: Path) -> None:
    WitnessStore.open(tmp_path, KEY).close()
    with pytest.raises(StoreConflict, match="holds the memory of witness key"):
        WitnessStore.open(tmp_path, b"\x02" * 48)


def test_equivocation_proofs_are_kept_for_good(tmp_path: Path) -> None:
    seen, other = trade_chain(), trade_chain(key_salt="another history ")
    proof = Equivocation(seen.blocks[2].signed, other.blocks[2].signed, reporter="me")
    store = WitnessStore.open(tmp_path, KEY)
    store.add_equivocation(proof)
    store.add_equivocation(proof)
    store.close()
    store = WitnessStore.open(tmp_path, KEY)
    assert [(p.proof_id, done) for p, done in store.equivocations()] == [(proof.proof_id, False)]
    store.mark_delivered(proof)
    assert store.equivocations()[0][1] is True
    store.close()


async def registered(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> tuple[Hub, Home]:
    """A hub (threshold 2) after a trade, with the seller's witness registered: it signs from
    block 4 on, and blocks 3 and 4 are sealed."""
    hub = await make_ledger_hub(ledger_config(tmp_path, threshold=2))
    seller, _buyer, _interval = await trade(hub, clock)
    witness, store = open_witness(hub, SECRET, tmp_path / "registering", seller)
    await witness.register()
    store.close()
    await hub.app[LEDGER].seal()
    await hub.app[LEDGER].seal()
    return hub, seller


class DiskWatchingClient(HubClient):
    """Looks into the witness's store file, as another process would, whenever a signature
    is about to leave."""

    def __init__(self, hub: Hub, store_file: Path) -> None:
        super().__init__(hub.session, hub.url)
        self.store_file = store_file
        self.seen: list[tuple[str | None, str]] = []

    async def request(
        self, method: str, path: str, body: Any = None, query: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        if path.endswith("/signatures"):
            height = int(path.split("/")[-2])
            with closing(sqlite3.connect(self.store_file)) as other_process:
                row = other_process.execute(
                    "SELECT signature FROM blocks WHERE height = ?", (height,)
                ).fetchone()
            self.seen.append((None if row is None else row[0], body["signature"]))
        return await super().request(method, path, body, query)


async def test_a_signature_is_on_disk_before_the_hub_receives_it(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> None:
    hub, _seller = await registered(make_ledger_hub, clock, tmp_path)
    store = WitnessStore.open(tmp_path / "w", KEY)
    client = DiskWatchingClient(hub, tmp_path / "w" / STORE_FILE)
    witness = Witness(client, SECRET, store, name="neighbour")

    await witness.step()

    store.close()
    assert witness.signed == [4]
    assert len(client.seen) == 1 and client.seen[0][0] == client.seen[0][1]


async def test_a_witness_without_its_memory_does_not_sign_over_what_its_key_signed(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> None:
    hub, _seller = await registered(make_ledger_hub, clock, tmp_path)
    witness, store = open_witness(hub, SECRET, tmp_path / "lost")
    await witness.step()
    store.close()
    assert witness.signed == [4]

    forgetful, store = open_witness(hub, SECRET, tmp_path / "new")
    with pytest.raises(WitnessHalted, match="block 4 carries this key's signature, but"):
        await forgetful.step()
    store.close()
    store = WitnessStore.open(tmp_path / "trusting", KEY)
    client = HubClient(hub.session, hub.url)
    trusting = Witness(client, SECRET, store, name="neighbour", trust_hub_history=True)
    assert await trusting.step() == 5
    recorded = store.recorded(4)
    store.close()
    assert recorded is not None and recorded.signature is not None and trusting.signed == []


async def test_a_witness_stops_when_the_hub_has_fewer_blocks_than_it_recorded(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> None:
    db = tmp_path / "cut.db"
    hub = await make_ledger_hub(ledger_config(tmp_path, threshold=2), db_path=db)
    await trade(hub, clock)
    witness, store = open_witness(hub, SECRET, tmp_path / "w")
    top = await witness.step() - 1
    store.close()
    async with hub.store._engine.begin() as conn:  # the operator cuts the newest block
        for table in ("ledger_signatures", "ledger_entries", "ledger_blocks"):
            await conn.execute(text(f"DELETE FROM {table} WHERE height = {top}"))
    await hub.stop()
    hub = await make_ledger_hub(ledger_config(tmp_path, threshold=2), db_path=db)
    again, store = open_witness(hub, SECRET, tmp_path / "w")
    with pytest.raises(WitnessHalted, match=f"below block {top} which this witness recorded"):
        await again.step()
    store.close()


async def test_the_witness_endpoint_lists_its_newest_heads_and_status(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> None:
    hub = await make_ledger_hub(ledger_config(tmp_path, threshold=2))
    await trade(hub, clock)
    witness, store = open_witness(hub, SECRET, tmp_path / "w")
    checked = await witness.step()
    server = TestServer(witness_app(witness), host="127.0.0.1")
    await server.start_server()
    try:
        async with hub.session.get(server.make_url("/heads?limit=2")) as response:
            heads = (await response.json())["heads"]
        async with hub.session.get(server.make_url("/heads?limit=0")) as response:
            refused = response.status, (await response.json())["error"]
        async with hub.session.get(server.make_url("/status")) as response:
            status = await response.json()
    finally:
        await server.close()
        store.close()
    served = await blocks(hub, 0)
    assert [h["block"]["hash"] for h in heads] == [b["hash"] for b in served[::-1][:2]]
    assert heads[0]["source"] == "witness neighbour" and heads[0]["chain_id"] == (
        hub.app[LEDGER].params.chain_id
    )
    assert refused == (400, "malformed")
    assert status["checked_height"] == status["recorded_height"] == checked - 1
    assert status["halted"] is None and status["genesis_hash"] == served[0]["hash"]


def test_a_bitmap_naming_absurd_signers_is_refused_before_it_is_built() -> None:
    header = BlockHeader(1, "00" * 32, "00" * 32, 0, 0, None)
    wire = SignedHeader(header, 1, b"\x01" * 96).to_wire()
    with pytest.raises(ValueError, match="signers must be a list of validator indexes"):
        Equivocation.from_wire(
            {
                "format": "gridcoop-equivocation-v1",
                "first": wire,
                "second": {**wire, "signers": [10**9]},
            }
        )


async def test_a_witness_never_follows_the_hub_onto_another_chain(
    make_ledger_hub: MakeLedgerHub, clock: FakeClock, tmp_path: Path
) -> None:
    first = await make_ledger_hub(ledger_config(tmp_path), db_path=tmp_path / "first.db")
    await trade(first, clock)
    witness, store = open_witness(first, SECRET, tmp_path / "w")
    await witness.step()
    store.close()
    # The operator starts over on an empty database with the same hub key: a new genesis.
    fresh = await make_ledger_hub(ledger_config(tmp_path), db_path=tmp_path / "fresh.db")
    for _ in range(3):
        await fresh.app[LEDGER].seal()
    again, store = open_witness(fresh, SECRET, tmp_path / "w")
    with pytest.raises(WitnessHalted, match="block 0 is not the block this witness recorded"):
        await again.step()
    store.close()
    assert again.signed == [] and again.next_height == 0
