"""Bids: one per home and interval, replaced only by a newer message of the same key."""

from __future__ import annotations

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.canonical import canonical_json
from gridcoop_home.protocol.errors import ProtocolError

from hub.store import Store
from hub.store.records import IntervalRecord
from tests.hub.store.factories import INTERVAL, NOW, QUARTER, bid_message, enrol_home


def cleared(interval_start: int) -> IntervalRecord:
    return IntervalRecord(
        interval_start, interval_start + QUARTER, NOW, False, None, None, None,
        0, 30, 8, 0, 50, 0, 0, 0, 0, 0,
    )  # fmt: skip


async def test_a_saved_bid_is_returned_as_sent(store: Store) -> None:
    home = await enrol_home(store)
    message = bid_message(home.home_key, seq=3, price=27)

    await store.save_bid(home.home_id, message, INTERVAL, now_ms=NOW + 5)

    bid = await store.get_bid(home.home_id, INTERVAL)
    assert bid is not None
    assert (bid.home_id, bid.interval_start, bid.key_id, bid.seq, bid.ts) == (
        home.home_id,
        INTERVAL,
        home.home_key.key_id,
        3,
        NOW,
    )
    assert bid.body == message.body
    assert canonical_json(bid.body) == canonical_json(message.body)
    assert (bid.digest, bid.sig, bid.received_at) == (message.digest, message.sig, NOW + 5)


async def test_no_bid_is_none(store: Store) -> None:
    home = await enrol_home(store)

    assert await store.get_bid(home.home_id, INTERVAL) is None


async def test_a_newer_bid_replaces_the_old_one_for_the_same_interval(store: Store) -> None:
    home = await enrol_home(store)
    await store.save_bid(home.home_id, bid_message(home.home_key, 1, price=20), INTERVAL, NOW)
    newer = bid_message(home.home_key, 2, price=35)

    await store.save_bid(home.home_id, newer, INTERVAL, NOW + 1)

    bids = await store.bids_for_interval(INTERVAL)
    assert [(b.seq, b.body["buy"][0]["price"], b.digest) for b in bids] == [(2, 35, newer.digest)]


@pytest.mark.parametrize("replayed_seq", [4, 5])
async def test_a_bid_with_an_old_sequence_is_a_replay_and_changes_nothing(
    store: Store, replayed_seq: int
) -> None:
    home = await enrol_home(store)
    current = bid_message(home.home_key, 5, price=30)
    await store.save_bid(home.home_id, current, INTERVAL, NOW)

    with pytest.raises(ProtocolError) as err:
        await store.save_bid(
            home.home_id, bid_message(home.home_key, replayed_seq, price=99), INTERVAL, NOW + 1
        )

    assert err.value.reason == errors.REPLAY
    bid = await store.get_bid(home.home_id, INTERVAL)
    assert bid is not None
    assert (bid.seq, bid.digest, bid.received_at) == (5, current.digest, NOW)


async def test_the_bid_sequence_is_per_key_across_intervals(store: Store) -> None:
    home = await enrol_home(store)
    await store.save_bid(home.home_id, bid_message(home.home_key, 10), INTERVAL + QUARTER, NOW)

    with pytest.raises(ProtocolError) as err:
        await store.save_bid(home.home_id, bid_message(home.home_key, 9), INTERVAL, NOW)

    assert err.value.reason == errors.REPLAY
    assert await store.get_bid(home.home_id, INTERVAL) is None


async def test_bids_of_an_interval_are_ordered_by_home_id(store: Store) -> None:
    homes = [await enrol_home(store, f"No. {n}") for n in range(1, 5)]
    for i, home in enumerate(reversed(homes)):
        await store.save_bid(
            home.home_id, bid_message(home.home_key, 1, price=10 + i), INTERVAL, NOW
        )
    other_interval = homes[0]
    await store.save_bid(
        other_interval.home_id, bid_message(other_interval.home_key, 2), INTERVAL + QUARTER, NOW
    )

    bids = await store.bids_for_interval(INTERVAL)

    assert [b.home_id for b in bids] == sorted(h.home_id for h in homes)
    assert {b.interval_start for b in bids} == {INTERVAL}


async def test_bids_of_revoked_homes_and_revoked_keys_are_left_out(store: Store) -> None:
    kept = await enrol_home(store, "kept")
    gone_home = await enrol_home(store, "revoked home")
    gone_key = await enrol_home(store, "revoked key")
    for home in (kept, gone_home, gone_key):
        await store.save_bid(home.home_id, bid_message(home.home_key, 1), INTERVAL, NOW)

    await store.revoke_home(gone_home.home_id, NOW + 1)
    await store.revoke_key(gone_key.home_key.key_id, NOW + 1)

    assert [b.home_id for b in await store.bids_for_interval(INTERVAL)] == [kept.home_id]
    assert await store.get_bid(gone_home.home_id, INTERVAL) is not None  # kept for the record


async def test_uncleared_bid_intervals_lists_each_waiting_interval_once(store: Store) -> None:
    first, second = await enrol_home(store), await enrol_home(store, "No. 5")
    starts = [INTERVAL, INTERVAL + QUARTER, INTERVAL + 2 * QUARTER, INTERVAL + 3 * QUARTER]
    for seq, start in enumerate(starts, start=1):
        await store.save_bid(
            first.home_id, bid_message(first.home_key, seq, interval=start), start, NOW
        )
    await store.save_bid(second.home_id, bid_message(second.home_key, 1), INTERVAL, NOW)
    assert await store.save_clearing(cleared(starts[1]), []) is True

    assert await store.uncleared_bid_intervals(starts[3]) == [starts[0], starts[2], starts[3]]
    assert await store.uncleared_bid_intervals(starts[2]) == [starts[0], starts[2]]
    assert await store.uncleared_bid_intervals(starts[0] - 1) == []


async def test_uncleared_bid_intervals_is_empty_once_everything_is_cleared(store: Store) -> None:
    home = await enrol_home(store)
    await store.save_bid(home.home_id, bid_message(home.home_key, 1), INTERVAL, NOW)
    await store.save_clearing(cleared(INTERVAL), [])

    assert await store.uncleared_bid_intervals(INTERVAL + 10 * QUARTER) == []


async def test_an_in_memory_database_saves_replaces_and_refuses_bids_alike() -> None:
    store = await Store.open("sqlite://")  # one connection, no group commit
    try:
        home = await enrol_home(store)
        first = await store.save_bid(home.home_id, bid_message(home.home_key, 1), INTERVAL, NOW)
        newer = bid_message(home.home_key, 2, price=35)
        second = await store.save_bid(home.home_id, newer, INTERVAL, NOW)
        with pytest.raises(ProtocolError) as err:
            await store.save_bid(home.home_id, bid_message(home.home_key, 2), INTERVAL, NOW)

        assert (first, second, err.value.reason) == (False, True, errors.REPLAY)
        bid = await store.get_bid(home.home_id, INTERVAL)
        assert bid is not None and bid.digest == newer.digest
    finally:
        await store.close()
