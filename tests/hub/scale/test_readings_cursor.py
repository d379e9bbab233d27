"""The ledger records every reading exactly once, even when several writers commit out of order.

Reading ids come from one sequence, but a transaction that took a lower id may commit after one
that took a higher id and was already recorded. A cursor over ids would skip the late one; the
ledger instead records what no block has recorded yet (`readings.recorded_height`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gridcoop_home.ledger.entries import reading_rows
from gridcoop_home.protocol.envelope import SignedMessage
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.ledger.service.sealer import LedgerService
from hub.ledger.service.settings import LedgerSettings
from hub.store import Store, schema
from hub.store.ledger_store import LedgerStore
from hub.store.store import async_url
from tests.hub.scale.support import run_hub
from tests.hub.store.factories import NOW, WINDOW, enrol_home, reading, signatures


def ledger_of(store: Store, tmp_path: Path) -> LedgerService:
    settings = LedgerSettings(enabled=True, key_file=str(tmp_path / "ledger.key"))
    return LedgerService(LedgerStore(store), settings, clock=lambda: NOW / 1000)


async def recorded_heights(store: Store) -> dict[str, int | None]:
    """digest -> the height of the block that recorded the reading (None: not yet)."""
    async with store._read() as conn:
        rows = await conn.execute(
            select(schema.readings.c.digest, schema.readings.c.recorded_height)
        )
        return {row.digest: row.recorded_height for row in rows}


async def readings_in_chain(store: Store) -> list[tuple[str, int]]:
    """(meter key id, seq) of every reading the chain's entries carry."""
    found = []
    async for _block, entries in LedgerStore(store).iter_chain():
        for _hash, data in entries:
            entry = json.loads(data)
            found += [(key_id, seq) for key_id, seq, *_rest in reading_rows(entry)]
    return found


async def ingest(store: Store, home_id: str, items: list[SignedMessage]) -> None:
    keys = await store.public_keys({m.key_id for m in items})
    await store.ingest_readings(home_id, list(items), signatures(items, keys), NOW, WINDOW)


async def test_a_reading_that_commits_after_a_later_one_was_sealed_is_still_recorded(
    pg_url: str, tmp_path: Path
) -> None:
    worker_a, worker_b = await Store.open(pg_url), await Store.open(pg_url)
    ledger = ledger_of(worker_a, tmp_path)
    await ledger.start()
    slow, fast = await enrol_home(worker_a, "Slow"), await enrol_home(worker_b, "Fast")
    early = reading(slow.meters["main"], seq=1, import_wh=100)
    late = reading(fast.meters["main"], seq=1, import_wh=200)
    engine = create_async_engine(async_url(pg_url))
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            # Worker A takes the lower id but has not committed yet...
            await conn.execute(
                insert(schema.readings).values(
                    meter_key_id=early.key_id,
                    home_id=slow.home_id,
                    seq=early.seq,
                    ts=early.ts,
                    import_wh=100,
                    export_wh=0,
                    digest=early.digest,
                    sig=early.sig,
                    received_at=NOW,
                )
            )
            # ...while worker B's reading (a higher id) commits and a block records it.
            await ingest(worker_b, fast.home_id, [late])
            first = await ledger.seal()
            assert (await recorded_heights(worker_a)) == {late.digest: first.header.height}
            await transaction.commit()
        second = await ledger.seal()
    finally:
        await engine.dispose()
    assert await recorded_heights(worker_a) == {
        late.digest: first.header.height,
        early.digest: second.header.height,
    }
    assert sorted(await readings_in_chain(worker_a)) == sorted(
        [(early.key_id, 1), (late.key_id, 1)]
    )
    await worker_a.close()
    await worker_b.close()
    verify = run_hub("verify", "--db", pg_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def test_two_writers_and_a_sealer_at_once_record_every_reading_exactly_once(
    pg_url: str, tmp_path: Path
) -> None:
    writers = [await Store.open(pg_url), await Store.open(pg_url)]
    ledger = ledger_of(writers[0], tmp_path)
    await ledger.start()
    homes = [await enrol_home(writers[n % 2], f"House {n}") for n in range(6)]
    per_meter = 15
    sealing = True

    async def write(n: int) -> None:
        home = homes[n]
        for seq in range(1, per_meter + 1):
            await ingest(
                writers[n % 2], home.home_id, [reading(home.meters["main"], seq, seq * 10)]
            )

    async def seal_continuously() -> None:
        while sealing:
            await ledger.seal()
            await asyncio.sleep(0)

    sealer = asyncio.create_task(seal_continuously())
    await asyncio.gather(*(write(n) for n in range(len(homes))))
    sealing = False
    await sealer
    await ledger.seal()  # whatever committed after the sealer's last look
    chain = await readings_in_chain(writers[0])
    assert len(chain) == len(set(chain)) == len(homes) * per_meter
    assert None not in (await recorded_heights(writers[0])).values()
    for store in writers:
        await store.close()
    verify = run_hub("verify", "--db", pg_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def test_an_upgraded_database_counts_readings_below_the_old_cursor_as_recorded(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = await Store.open(db_url)
    home = await enrol_home(store)
    await ingest(store, home.home_id, [reading(home.meters["main"], s, s * 10) for s in (1, 2, 3)])
    async with store._write() as conn:  # back to version 4: a cursor after the first two
        await conn.execute(text("DROP INDEX ix_readings_unrecorded"))
        await conn.execute(text("DROP TABLE hub_events"))
        await conn.execute(text("ALTER TABLE readings DROP COLUMN recorded_height"))
        await conn.execute(text("UPDATE schema_version SET version = 4"))
        await conn.execute(insert(schema.ledger_meta).values(name="reading_cursor", value="2"))
    await store.close()
    store = await Store.open(db_url)
    async with store._read() as conn:
        rows = await conn.execute(
            select(schema.readings.c.seq, schema.readings.c.recorded_height).order_by(
                schema.readings.c.seq
            )
        )
        assert [tuple(row) for row in rows] == [(1, -1), (2, -1), (3, None)]
    await store.close()
