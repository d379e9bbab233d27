"""ingest_readings: judge and store a batch in one transaction; what is accepted is never lost."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.reading_rules import ACCEPTED, DUPLICATE, REJECTED, Verdict

import hub.store.readings as readings_module
from hub.store import Store
from hub.store.records import ReadingRecord
from tests.hub.store.factories import (
    NOW,
    WINDOW,
    EnrolledHome,
    OpenStore,
    enrol_home,
    reading,
    signatures,
)

Item = SignedMessage | ProtocolError


async def ingest(
    store: Store, home: EnrolledHome, items: list[Item], now: int = NOW
) -> list[Verdict]:
    messages = [i for i in items if isinstance(i, SignedMessage)]
    keys = await store.public_keys({m.key_id for m in messages})
    signature_ok = {
        i: item.key_id in keys and item.signature_valid(keys[item.key_id])
        for i, item in enumerate(items)
        if isinstance(item, SignedMessage)
    }
    return await store.ingest_readings(home.home_id, items, signature_ok, now, WINDOW)


def statuses(verdicts: list[Verdict]) -> list[tuple[str, str | None]]:
    return [(v.status, v.reason) for v in verdicts]


def stored(records: list[ReadingRecord]) -> list[tuple[int, int, int]]:
    return [(r.seq, r.import_wh, r.export_wh) for r in records]


async def test_accepted_readings_are_stored(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    items: list[Item] = [reading(meter, 1, 100, 5), reading(meter, 2, 150, 5)]

    verdicts = await ingest(store, home, items)

    assert statuses(verdicts) == [(ACCEPTED, None)] * 2
    records = await store.readings_for(home.home_id)
    assert [r.to_wire() for r in records] == [
        {
            "meter_key_id": meter.key_id,
            "seq": seq,
            "ts": item.ts,
            "import_wh": imp,
            "export_wh": 5,
            "digest": item.digest,
        }
        for item, seq, imp in zip(items, (1, 2), (100, 150), strict=True)
        if isinstance(item, SignedMessage)
    ]
    assert await store.count_readings() == 2


async def test_a_batch_sent_again_is_all_duplicates_and_stored_once(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    items: list[Item] = [reading(meter, 1, 100), reading(meter, 2, 120)]
    await ingest(store, home, items)

    verdicts = await ingest(store, home, items)

    assert statuses(verdicts) == [(DUPLICATE, None)] * 2
    assert await store.count_readings() == 2


async def test_a_reading_repeated_inside_one_batch_is_stored_once(store: Store) -> None:
    home = await enrol_home(store)
    item = reading(home.meters["main"], 1, 100)

    verdicts = await ingest(store, home, [item, item])

    assert statuses(verdicts) == [(ACCEPTED, None), (DUPLICATE, None)]
    assert await store.count_readings() == 1


async def test_a_mixed_batch_stores_exactly_the_good_items(store: Store) -> None:
    home = await enrol_home(store, meters={"main": "grid", "roof": "pv"})
    neighbour = await enrol_home(store, "No. 5")
    grid, pv = home.meters["main"], home.meters["roof"]
    good = [reading(grid, 1, 100), reading(pv, 1, 0, 40), reading(grid, 3, 130)]
    items: list[Item] = [
        good[0],
        dataclasses.replace(reading(grid, 2, 110), body={"import_wh": 999, "export_wh": 0}),
        good[1],
        reading(grid, 1, 100, 1),  # same seq, other content: replay
        ProtocolError(errors.MALFORMED, "readings[4] lacks ['sig']"),
        reading(grid, 2, 90),  # import down from 100
        reading(neighbour.meters["main"], 1, 5),
        reading(home.home_key, 4, 200),
        good[2],
    ]

    verdicts = await ingest(store, home, items)

    assert statuses(verdicts) == [
        (ACCEPTED, None),
        (REJECTED, errors.BAD_SIGNATURE),
        (ACCEPTED, None),
        (REJECTED, errors.REPLAY),
        (REJECTED, errors.MALFORMED),
        (REJECTED, errors.REGISTER_DECREASED),
        (REJECTED, errors.KEY_NOT_YOURS),
        (REJECTED, errors.WRONG_KEY_KIND),
        (ACCEPTED, None),
    ]
    assert await store.count_readings() == 3
    records = await store.readings_for(home.home_id)
    assert {r.digest for r in records} == {g.digest for g in good}
    assert await store.readings_for(neighbour.home_id) == []


async def test_readings_of_a_revoked_meter_are_refused_and_not_stored(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    await store.revoke_key(meter.key_id, NOW - 1)

    verdicts = await ingest(store, home, [reading(meter, 1, 100)])

    assert statuses(verdicts) == [(REJECTED, errors.REVOKED_KEY)]
    assert await store.count_readings() == 0


async def test_an_unknown_meter_is_refused(store: Store) -> None:
    home = await enrol_home(store)

    verdicts = await ingest(store, home, [reading(SigningKey.generate(), 1, 100)])

    assert statuses(verdicts) == [(REJECTED, errors.UNKNOWN_KEY)]
    assert await store.count_readings() == 0


async def test_registers_cannot_decrease_across_batches(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    await ingest(store, home, [reading(meter, 1, 1_000, 300)])

    verdicts = await ingest(
        store, home, [reading(meter, 2, 999, 300), reading(meter, 3, 1_000, 299)]
    )

    assert statuses(verdicts) == [(REJECTED, errors.REGISTER_DECREASED)] * 2
    assert stored(await store.readings_for(home.home_id)) == [(1, 1_000, 300)]


async def test_sequences_and_time_must_advance_across_batches(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    first = reading(meter, 10, 1_000)
    await ingest(store, home, [first])

    verdicts = await ingest(
        store,
        home,
        [
            reading(meter, 10, 1_050),
            reading(meter, 9, 1_050),
            reading(meter, 11, 1_100, ts=first.ts - 1),
        ],
    )

    assert statuses(verdicts) == [
        (REJECTED, errors.REPLAY),
        (REJECTED, errors.REPLAY),
        (REJECTED, errors.TIME_WENT_BACKWARDS),
    ]
    assert await store.count_readings() == 1


async def test_meter_state_survives_a_restart(open_store: OpenStore, db_url: str) -> None:
    store = await open_store()
    home = await enrol_home(store)
    meter = home.meters["main"]
    await ingest(store, home, [reading(meter, 1, 100, 10), reading(meter, 2, 200, 20)])
    await store.close()

    restarted = await open_store()
    verdicts = await ingest(
        restarted,
        home,
        [
            reading(meter, 2, 200, 20),  # already stored: duplicate
            reading(meter, 2, 250, 20),  # same seq, new content: replay
            reading(meter, 3, 199, 20),  # below the stored import register
            reading(meter, 4, 260, 25),
        ],
    )

    assert statuses(verdicts) == [
        (DUPLICATE, None),
        (REJECTED, errors.REPLAY),
        (REJECTED, errors.REGISTER_DECREASED),
        (ACCEPTED, None),
    ]
    assert stored(await restarted.readings_for(home.home_id)) == [
        (1, 100, 10),
        (2, 200, 20),
        (4, 260, 25),
    ]


async def test_readings_are_listed_by_time_from_a_given_moment(store: Store) -> None:
    home = await enrol_home(store, meters={"main": "grid", "roof": "pv"})
    grid, pv = home.meters["main"], home.meters["roof"]
    items: list[Item] = [reading(grid, 5, 10), reading(pv, 2, 1), reading(grid, 8, 20)]
    await ingest(store, home, items)

    everything = await store.readings_for(home.home_id)
    later = await store.readings_for(home.home_id, since_ms=reading(grid, 5, 0).ts)
    first_two = await store.readings_for(home.home_id, limit=2)

    assert [(r.meter_key_id, r.seq) for r in everything] == [
        (pv.key_id, 2),
        (grid.key_id, 5),
        (grid.key_id, 8),
    ]
    assert [r.seq for r in later] == [5, 8]
    assert [r.seq for r in first_two] == [2, 5]


async def test_signature_results_are_matched_by_position(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    items = [reading(meter, 1, 10), reading(meter, 2, 20)]
    keys = {meter.key_id: meter.public_text}

    verdicts = await store.ingest_readings(
        home.home_id, items, {**signatures(items, keys), 1: False}, NOW, WINDOW
    )

    assert statuses(verdicts) == [(ACCEPTED, None), (REJECTED, errors.BAD_SIGNATURE)]
    assert await store.count_readings() == 1


async def test_the_same_batch_posted_twice_at_once_is_stored_once(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    items: list[Item] = [reading(meter, s, 100 * s) for s in range(1, 6)]

    first, second = await asyncio.gather(ingest(store, home, items), ingest(store, home, items))

    assert sorted([statuses(first), statuses(second)]) == [
        [(ACCEPTED, None)] * 5,
        [(DUPLICATE, None)] * 5,
    ]
    assert await store.count_readings() == 5


async def test_two_hub_processes_ingesting_at_once_cannot_make_a_register_go_down(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_a = store  # the other process is a second Store on its own thread and event loop
    home = await enrol_home(hub_a)
    meter = home.meters["main"]
    newer, stale = reading(meter, 5, 500), reading(meter, 3, 300)
    # Force the interleaving: the newer batch reads the meter state, then the stale batch reads
    # it, then the newer one commits, then the stale one writes. (SQLite's write lock and
    # PostgreSQL's row lock make the stale batch wait for the commit before it reads instead,
    # so the newer batch stops waiting for it after a moment.) The hook runs where each store
    # judges a batch, inside its transaction.
    newer_has_read, stale_has_read, newer_committed = (threading.Event() for _ in range(3))
    original = readings_module.judge_batch

    def interleaved(home_id: str, items: list[Item], *args: Any) -> Any:
        if any(isinstance(i, SignedMessage) and i.digest == stale.digest for i in items):
            stale_has_read.set()
            newer_committed.wait(5)
        else:
            newer_has_read.set()
            stale_has_read.wait(0.3)
        return original(home_id, items, *args)

    async def ingest_newer() -> None:
        await ingest(hub_a, home, [newer])
        newer_committed.set()

    async def ingest_stale_in_another_process() -> None:
        hub_b = await Store.open(db_url)
        try:
            await asyncio.to_thread(newer_has_read.wait, 5)
            await ingest(hub_b, home, [stale])
        finally:
            await hub_b.close()

    monkeypatch.setattr(readings_module, "judge_batch", interleaved)
    await asyncio.gather(
        ingest_newer(), asyncio.to_thread(asyncio.run, ingest_stale_in_another_process())
    )
    monkeypatch.undo()

    verdicts = await ingest(hub_a, home, [reading(meter, 6, 400)])

    assert statuses(verdicts) == [(REJECTED, errors.REGISTER_DECREASED)]
    assert [r.seq for r in await hub_a.readings_for(home.home_id)] == [5]
