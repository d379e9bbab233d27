"""The database enforces the ledger's guarantees on its own, on SQLite and PostgreSQL:
one mint per (meter, interval), one settlement per (home, interval), no holdings below zero,
one use per home-transaction sequence, atomic blocks, and migration 3 for older databases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gridcoop_home.ledger.transactions import build_retirement
from gridcoop_home.protocol.errors import ProtocolError
from sqlalchemy import text

from hub.ledger.chain.chain import encode
from hub.store import Store, migrations, schema
from hub.store.ledger_store import LedgerStore, all_holdings
from tests.hub.ledger.factory import ChainBuilder, trade_chain
from tests.hub.store.factories import NOW, enrol_home


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[LedgerStore]:
    store = await Store.open(db_url)
    yield LedgerStore(store)
    await store.close()


@pytest.fixture(scope="module")
def chain() -> ChainBuilder:
    return trade_chain()


def rows_of(chain: ChainBuilder, height: int) -> list[tuple[dict[str, Any], str, str]]:
    return [
        (json.loads(raw), raw.decode(), hash_)
        for raw, hash_ in zip(
            chain.blocks[height].entries, chain.blocks[height].hashes or [], strict=True
        )
    ]


def block_row(chain: ChainBuilder, height: int) -> dict[str, Any]:
    header = chain.blocks[height].header
    return {
        "height": height,
        "block_hash": header.hash,
        "prev_hash": header.prev_hash,
        "merkle_root": header.merkle_root,
        "time_ms": header.time_ms,
        "entry_count": header.entry_count,
        "interval_start": header.interval_start,
        "signers": "1",
        "signature": chain.blocks[height].signed.signature.hex(),  # type: ignore[union-attr]
        "signer_count": 1,
        "final": True,
    }


def row(entry: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    raw, hash_ = encode(entry)
    return entry, raw.decode(), hash_


async def store_chain(ledger: LedgerStore, chain: ChainBuilder) -> None:
    for height in range(len(chain.blocks)):
        await ledger.seal(block_row(chain, height), [], rows_of(chain, height), "00", {})


async def count(ledger: LedgerStore, table: str) -> int:
    async with ledger._read() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar() or 0)


async def test_a_stored_chain_reads_back_block_by_block(
    ledger: LedgerStore, chain: ChainBuilder
) -> None:
    await store_chain(ledger, chain)
    blocks = [
        (row["height"], [h for h, _d in entries])
        async for row, entries in ledger.iter_chain(chunk=2)
    ]
    assert blocks == [(b.header.height, list(b.hashes or [])) for b in chain.blocks]
    holdings = {(r["account"], r["asset"]): r["units"] for r in await all_holdings(ledger)}
    assert holdings == {("buyer", "certificate"): 4}


async def test_a_second_mint_for_a_meter_and_interval_is_refused_and_stores_nothing(
    ledger: LedgerStore, chain: ChainBuilder
) -> None:
    await store_chain(ledger, chain)
    mint = next(row for row in rows_of(chain, 3) if row[0]["kind"] == "mint")
    again = {**mint[0], "lot": mint[0]["lot"] + "-again"}  # a different entry, same meter+interval
    before = await count(ledger, "ledger_entries")
    with pytest.raises(ProtocolError) as err:
        await ledger.append_pending(row(again))
    assert err.value.reason == "double_mint"
    assert await count(ledger, "ledger_entries") == before


async def test_a_home_interval_settles_once(ledger: LedgerStore, chain: ChainBuilder) -> None:
    await store_chain(ledger, chain)
    settlement = rows_of(chain, 3)[0][0]
    again = {**settlement, "amount_mminor": 1}
    with pytest.raises(ProtocolError) as err:
        await ledger.append_pending(row(again))
    assert err.value.reason == "already_settled"


async def test_holdings_never_go_below_zero_so_a_certificate_retires_once(
    ledger: LedgerStore, chain: ChainBuilder
) -> None:
    await store_chain(ledger, chain)
    buyer = chain.homes["buyer"]
    lot = next(iter(chain.state.certificates["buyer"]))
    rest = build_retirement(buyer.key, "buyer", lot=lot, units=4, purpose="x", seq=500, ts=1)
    await ledger.append_pending(row(rest))
    again = build_retirement(buyer.key, "buyer", lot=lot, units=1, purpose="x", seq=501, ts=1)
    with pytest.raises(ProtocolError) as err:
        await ledger.append_pending(row(again))
    assert err.value.reason == "insufficient_tokens"
    assert {r["units"] for r in await all_holdings(ledger)} == {0}
    assert sorted(r["units"] for r in await ledger.retirements(10)) == [2, 4]


async def test_a_home_transaction_sequence_is_used_once(
    ledger: LedgerStore, chain: ChainBuilder
) -> None:
    await store_chain(ledger, chain)
    buyer = chain.homes["buyer"]
    lot = next(iter(chain.state.certificates["buyer"]))
    first = build_retirement(buyer.key, "buyer", lot=lot, units=1, purpose="a", seq=900, ts=1)
    second = build_retirement(buyer.key, "buyer", lot=lot, units=1, purpose="b", seq=900, ts=1)
    await ledger.append_pending(row(first))
    with pytest.raises(ProtocolError) as err:
        await ledger.append_pending(row(second))
    assert err.value.reason == "replay"


async def test_a_block_is_stored_whole_or_not_at_all(
    ledger: LedgerStore, chain: ChainBuilder
) -> None:
    for height in range(3):
        await ledger.seal(
            block_row(chain, height), [], rows_of(chain, height), "00", {"cursor": "1"}
        )
    rows = rows_of(chain, 3)
    mint = next(row for row in rows if row[0]["kind"] == "mint")
    twice = {**mint[0], "lot": "other"}
    broken = [*rows, row(twice)]
    with pytest.raises(ProtocolError):
        await ledger.seal(block_row(chain, 3), [], broken, "00", {"cursor": "2"})
    assert (await ledger.head() or {})["height"] == 2
    assert await count(ledger, "ledger_mints") == 0
    assert await count(ledger, "ledger_settlements") == 0
    assert (await ledger.meta())["cursor"] == "1"


async def test_pending_entries_get_their_position_when_sealed(
    ledger: LedgerStore, chain: ChainBuilder
) -> None:
    await store_chain(ledger, chain)
    entry = {"kind": "revoke", "home_id": "buyer", "key_id": None}
    await ledger.append_pending(row(entry))
    [(entry_id, hash_, _data)] = await ledger.pending()
    block = {**block_row(chain, 3), "height": 4, "block_hash": "ff" * 32, "entry_count": 1}
    await ledger.seal(block, [entry_id], [], "00", {})
    assert await ledger.pending() == []
    assert await ledger.find_entry(hash_) == {
        "height": 4,
        "idx": 0,
        "hash": hash_,
        "data": encode(entry)[0].decode(),
    }


async def test_an_older_database_gets_the_ledger_tables_through_migration_3(db_url: str) -> None:
    store = await Store.open(db_url)
    async with store._engine.begin() as conn:
        for table in reversed(schema.LEDGER_TABLES):
            await conn.run_sync(lambda sync, t=table: t.drop(sync))
        await conn.execute(schema.schema_version.update().values(version=2))
    await store.close()
    reopened = await Store.open(db_url)
    async with reopened._engine.connect() as conn:
        version = (await conn.execute(text("SELECT version FROM schema_version"))).scalar()
        tables = await conn.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    await reopened.close()
    assert version == migrations.latest_version()
    assert {t.name for t in schema.LEDGER_TABLES} <= tables


async def test_the_registry_the_ledger_records_from_follows_enrolments_and_revocations(
    db_url: str,
) -> None:
    store = await Store.open(db_url)
    try:
        ledger = LedgerStore(store)
        first = await enrol_home(store, "No. 1", meters={"main": "grid", "roof": "pv"})
        [home] = await ledger.registry()
        assert home["home_id"] == first.home_id and not home["revoked"]
        assert len(home["keys"]) == 3 and not any(key["revoked"] for key in home["keys"])
        assert await ledger.registry() == [home], "nothing changed, the same registry"

        second = await enrol_home(store, "No. 2")
        homes = [h["home_id"] for h in await ledger.registry()]
        assert homes == sorted([first.home_id, second.home_id])

        roof = first.meters["roof"].key_id
        await store.revoke_key(roof, NOW)
        registry = await ledger.registry()
        assert {key["key_id"] for h in registry for key in h["keys"] if key["revoked"]} == {roof}

        await store.revoke_home(second.home_id, NOW)
        by_id = {h["home_id"]: h for h in await ledger.registry()}
        assert by_id[second.home_id]["revoked"] and not by_id[first.home_id]["revoked"]
        assert all(key["revoked"] for key in by_id[second.home_id]["keys"])
    finally:
        await store.close()


async def test_a_second_store_sees_the_registry_change_another_process_made(db_url: str) -> None:
    """Several workers share one database: a cached registry must not hide their enrolments."""
    store, other = await Store.open(db_url), await Store.open(db_url)
    try:
        ledger = LedgerStore(store)
        assert await ledger.registry() == []
        home = await enrol_home(other, "No. 9")
        assert [h["home_id"] for h in await ledger.registry()] == [home.home_id]
        await other.revoke_home(home.home_id, NOW)
        [seen] = await ledger.registry()
        assert seen["revoked"]
    finally:
        await store.close()
        await other.close()
