"""The store's part of the market modes, on SQLite and PostgreSQL: the order log in arrival order,
network details beside an interval, derived bids replacing stored ones in the same transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage, sign_message
from gridcoop_home.protocol.errors import ProtocolError

from hub.store import Store
from hub.store.records import AllocationRecord, IntervalRecord, StoredBid
from tests.hub.databases import BACKENDS, fresh_database
from tests.hub.store.factories import INTERVAL, NOW, EnrolledHome, enrol_home


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "modes") as url:
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(db_url)
    yield opened
    await opened.close()


def order(home: EnrolledHome, seq: int, client_id: str, start: int = INTERVAL) -> SignedMessage:
    body = {
        "interval_start": start,
        "side": "buy",
        "price": 20,
        "energy_wh": 100,
        "asset": "ev",
        "client_order_id": client_id,
    }
    return sign_message(home.home_key, "order", body, seq=seq, ts=NOW)


async def test_orders_and_cancels_are_logged_in_arrival_order(store: Store) -> None:
    home = await enrol_home(store, bus=4)
    first, second = order(home, 1, "a"), order(home, 2, "b")
    await store.save_order(home.home_id, f"{home.home_id}:a", first, INTERVAL, NOW)
    await store.save_cancel(home.home_id, f"{home.home_id}:a", INTERVAL, NOW + 1)
    await store.save_order(home.home_id, f"{home.home_id}:b", second, INTERVAL, NOW + 2)

    events = await store.order_events(INTERVAL)

    assert [(e.kind, e.order_id.split(":")[1]) for e in events] == [
        ("submit", "a"),
        ("cancel", "a"),
        ("submit", "b"),
    ]
    assert events[0].body == first.body
    assert events[0].digest == first.digest
    assert events[1].body is None
    assert await store.order_interval(f"{home.home_id}:b") == INTERVAL
    assert await store.order_interval("nobody:b") is None
    assert await store.uncleared_order_intervals(before_or_at=INTERVAL) == [INTERVAL]
    assert await store.home_buses() == {home.home_id: 4}


async def test_an_order_id_is_used_once_and_a_sequence_never_twice(store: Store) -> None:
    home = await enrol_home(store)
    order_id = f"{home.home_id}:a"
    await store.save_order(home.home_id, order_id, order(home, 5, "a"), INTERVAL, NOW)

    with pytest.raises(ProtocolError) as again:
        await store.save_order(home.home_id, order_id, order(home, 6, "a"), INTERVAL, NOW)
    with pytest.raises(ProtocolError) as replayed:
        await store.save_order(home.home_id, "x", order(home, 5, "x"), INTERVAL, NOW)

    assert again.value.reason == errors.DUPLICATE_ORDER
    assert replayed.value.reason == errors.REPLAY
    assert len(await store.order_events(INTERVAL)) == 1


async def test_a_clearing_keeps_its_network_and_derived_bids_in_one_transaction(
    store: Store,
) -> None:
    home = await enrol_home(store)
    binding = [{"kind": "thermal", "element": "L1", "limit": 1.0, "value": 1.0, "description": ""}]
    interval = IntervalRecord(
        INTERVAL, INTERVAL + 900, NOW, False, 20, 20, 20, 100, 30, 8, 0, 50, 0, 0, 0, 0, 1,
        method="lp", congestion_rent_mminor=7, binding=binding,
    )  # fmt: skip
    allocation = AllocationRecord(
        INTERVAL, home.home_id, 100, 0, 0, 0, 2000, 0, 0, "d" * 64, [], curtailed_buy_wh=50
    )
    derived = StoredBid(
        home.home_id, INTERVAL, home.home_key.key_id, 9, NOW, {"interval_start": INTERVAL},
        "d" * 64, "", NOW,
    )  # fmt: skip
    network = {"interval_start": INTERVAL, "nodal_prices": [{"bus": 0, "voltage_pu": 1.01}]}

    assert await store.save_clearing(interval, [allocation], network, [derived])

    assert await store.get_interval(INTERVAL) == interval
    assert await store.list_intervals(INTERVAL, INTERVAL, 1) == [interval]
    assert await store.get_interval_network(INTERVAL) == network
    assert await store.allocations_for_interval(INTERVAL) == [allocation]
    assert await store.get_bid(home.home_id, INTERVAL) == derived
    assert await store.uncleared_order_intervals(before_or_at=INTERVAL) == []
    assert not await store.save_clearing(interval, [allocation], network, [derived])
