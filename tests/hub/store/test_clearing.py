"""Clearing results: each interval is stored exactly once, with its allocations and dispatch."""

from __future__ import annotations

import dataclasses

from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.dispatch import DispatchCommand, derive_commands
from gridcoop_home.protocol.grid_limit import GridLimit

from hub.ledger.accounts.recording import ClearedAllocation, clearing_entry
from hub.store import Store
from hub.store.ledger_store import LedgerStore
from hub.store.records import AllocationRecord, IntervalRecord
from tests.hub.store.factories import INTERVAL, NOW, QUARTER, OpenStore, bid_message, enrol_home

HOMES = ("a1b2c3d4e5f60718", "0f1e2d3c4b5a6978", "ffeeddccbbaa9988")


def interval(start: int = INTERVAL, **changes: object) -> IntervalRecord:
    record = IntervalRecord(
        interval_start=start,
        interval_end=start + QUARTER,
        cleared_at=start * 1_000 - 60_000,
        late=False,
        price=21,
        price_low=18,
        price_high=24,
        volume_wh=4_500,
        retail_price=30,
        feed_in_price=8,
        fee_per_kwh=1,
        k_percent=50,
        welfare_mminor=-12_345_678_901,
        fees_mminor=9_000,
        grid_import_wh=700,
        grid_export_wh=0,
        participants=3,
    )
    return dataclasses.replace(record, **changes)


def dispatch() -> tuple[DispatchCommand, ...]:
    bid = BidCurves(
        buy=(BidStep(40, 1_850, "ev"), BidStep(30, 600, "load:dishwasher")),
        sell=(BidStep(45, 500, "battery"),),
    )
    return tuple(derive_commands(bid, [1_850, 0], [500], QUARTER))


def allocation(home_id: str, start: int = INTERVAL, bought: int = 1_500) -> AllocationRecord:
    return AllocationRecord(
        interval_start=start,
        home_id=home_id,
        bought_local_wh=bought,
        sold_local_wh=0,
        bought_grid_wh=200,
        sold_grid_wh=0,
        paid_mminor=-31_500,
        received_mminor=0,
        fees_mminor=1_500,
        bid_digest="ab" * 32,
        dispatch=dispatch(),
    )


def test_an_allocations_wire_form_has_every_field_and_its_own_dispatch_list() -> None:
    record = allocation("h1")
    wire = record.to_wire()

    # every field, but an absent grid limit is left out (older homes and ledgers see no change)
    assert {**wire, "dispatch": tuple(wire["dispatch"]), "grid_limit": None} == dataclasses.asdict(
        record
    )
    assert "grid_limit" not in wire
    assert isinstance(wire["dispatch"], list)
    wire["dispatch"][0]["energy_wh"] = -1
    assert record.dispatch[0].energy_wh != -1


async def test_a_clearing_is_stored_and_read_back_exactly(store: Store) -> None:
    record = interval()
    allocations = [allocation(h) for h in HOMES]

    assert await store.save_clearing(record, allocations) is True

    assert await store.get_interval(INTERVAL) == record
    assert await store.allocations_for_interval(INTERVAL) == sorted(
        allocations, key=lambda a: a.home_id
    )


async def test_a_grid_limit_is_stored_and_read_back(store: Store) -> None:
    limited = dataclasses.replace(allocation(HOMES[0]), grid_limit=GridLimit(4200, None))

    assert await store.save_clearing(interval(), [limited, allocation(HOMES[1])]) is True

    assert (await store.allocations_for_interval(INTERVAL))[0 if HOMES[0] < HOMES[1] else 1] == (
        limited
    )
    assert limited.to_wire()["grid_limit"] == {"import_w": 4200, "export_w": None}


async def test_an_interval_is_cleared_only_once(store: Store) -> None:
    first = interval(price=21)
    await store.save_clearing(first, [allocation(HOMES[0]), allocation(HOMES[1])])

    again = await store.save_clearing(
        interval(price=99, late=True), [allocation(HOMES[0], bought=9), allocation(HOMES[2])]
    )

    assert again is False
    assert await store.get_interval(INTERVAL) == first
    stored = await store.allocations_for_interval(INTERVAL)
    assert [(a.home_id, a.bought_local_wh) for a in stored] == sorted(
        [(HOMES[0], 1_500), (HOMES[1], 1_500)]
    )


async def test_an_interval_without_trades_is_stored_with_null_prices(store: Store) -> None:
    quiet = interval(price=None, price_low=None, price_high=None, volume_wh=0, late=True)

    assert await store.save_clearing(quiet, []) is True

    assert await store.get_interval(INTERVAL) == quiet
    assert await store.allocations_for_interval(INTERVAL) == []


async def test_unknown_intervals_are_none_and_an_empty_store_has_no_latest(store: Store) -> None:
    assert await store.get_interval(INTERVAL) is None
    assert await store.latest_interval() is None


async def test_intervals_are_listed_newest_first_within_the_range(store: Store) -> None:
    starts = [INTERVAL + i * QUARTER for i in range(5)]
    for start in reversed(starts):
        await store.save_clearing(interval(start), [])

    listed = await store.list_intervals(starts[1], starts[3], limit=10)
    limited = await store.list_intervals(starts[0], starts[4], limit=2)

    assert [r.interval_start for r in listed] == [starts[3], starts[2], starts[1]]
    assert [r.interval_start for r in limited] == [starts[4], starts[3]]
    latest = await store.latest_interval()
    assert latest is not None
    assert latest.interval_start == starts[4]


async def test_allocations_for_a_home_round_trip_with_their_dispatch(store: Store) -> None:
    starts = [INTERVAL + i * QUARTER for i in range(4)]
    for start in starts:
        await store.save_clearing(
            interval(start), [allocation(h, start, bought=start % 10_000) for h in HOMES]
        )

    mine = await store.allocations_for_home(HOMES[1], starts[0], starts[2], limit=10)
    newest = await store.allocations_for_home(HOMES[1], starts[0], starts[3], limit=1)

    assert mine == [allocation(HOMES[1], s, bought=s % 10_000) for s in reversed(starts[:3])]
    assert mine[0].dispatch == dispatch()
    assert [c.action for c in mine[0].dispatch] == ["discharge", "charge", "defer"]
    assert [a.interval_start for a in newest] == [starts[3]]
    assert await store.allocations_for_home("0" * 16, starts[0], starts[3], limit=10) == []


async def test_clearing_results_survive_a_restart(store: Store, open_store: OpenStore) -> None:
    record = interval()
    await store.save_clearing(record, [allocation(HOMES[0])])
    await store.close()

    restarted = await open_store()

    assert await restarted.get_interval(INTERVAL) == record
    assert await restarted.allocations_for_interval(INTERVAL) == [allocation(HOMES[0])]
    assert await restarted.save_clearing(record, []) is False


async def test_the_ledger_records_each_stored_allocation_with_the_bid_it_answers(
    store: Store,
) -> None:
    home = await enrol_home(store)
    bid = bid_message(home.home_key, seq=4)
    await store.save_bid(home.home_id, bid, INTERVAL, NOW)
    stored = dataclasses.replace(allocation(home.home_id), bid_digest=bid.digest)
    await store.save_clearing(interval(), [stored])

    [cleared] = await LedgerStore(store).cleared_after(INTERVAL - 1, INTERVAL)
    entry = clearing_entry(cleared, {home.home_id: 2}, entry_format=1)

    assert cleared["allocations"] == [ClearedAllocation(stored, home.home_key.key_id, 4)]
    assert entry["allocations"] == [
        {
            "home_id": home.home_id,
            "bought_local_wh": 1_500,
            "sold_local_wh": 0,
            "bought_grid_wh": 200,
            "sold_grid_wh": 0,
            "paid_mminor": -31_500,
            "received_mminor": 0,
            "fees_mminor": 1_500,
            "bid_key_id": home.home_key.key_id,
            "bid_seq": 4,
            "bid_digest": bid.digest,
            "priority": 2,
            "dispatch": [[c.device, c.action, c.energy_wh] for c in dispatch()],
        }
    ]
