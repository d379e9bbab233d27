"""Bids: one signed bid per home and interval, replaceable until the gate closes, within bounds."""

from __future__ import annotations

from typing import Any

import pytest
from gridcoop_home.client.hub import HubError
from gridcoop_home.protocol.envelope import sign_message
from gridcoop_home.protocol.keys import SigningKey

from tests.hub.server.support import FakeClock, Home, Hub, curves

BIDS = "/api/v1/bids"


async def next_interval(hub: Hub) -> int:
    return hub.config.next_open_interval(hub.clock())


async def submit(hub: Hub, home: Home, interval: int, **sides: Any) -> tuple[int, Any]:
    """Submit a bid through a raw signed request, to see the HTTP status as well."""
    message = home.client.sign_bid(interval, curves(**sides))
    reply = await hub.signed(home.key, "POST", BIDS, message.to_wire())
    return reply.status, reply.body


def refused(answer: tuple[int, Any], status: int, reason: str) -> bool:
    return answer[0] == status and answer[1]["error"] == reason


async def test_valid_bid_is_201_stored(hub: Hub) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub)
    message = home.client.sign_bid(
        interval, curves(buy=[(28, 800, "base"), (20, 400, "ev")], sell=[(35, 300, "battery")])
    )

    reply = await hub.signed(home.key, "POST", BIDS, message.to_wire())

    assert reply.status == 201
    assert reply.body == {
        "interval_start": interval,
        "status": "stored",
        "digest": message.digest,
        "gate_closure": interval - hub.config.gate_closure_seconds,
    }
    stored = await home.client.bid(interval)
    assert stored == {
        "interval_start": interval,
        "seq": message.seq,
        "digest": message.digest,
        "bid": message.body,
    }
    assert stored["bid"]["buy"][1] == {"price": 20, "energy_wh": 400, "asset": "ev"}


async def test_second_bid_for_the_same_interval_is_200_replaced_and_get_returns_newest(
    hub: Hub,
) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub)
    assert (await submit(hub, home, interval, buy=[(25, 500, "base")]))[0] == 201

    newer = home.client.sign_bid(interval, curves(sell=[(12, 900, "pv")]))
    reply = await hub.signed(home.key, "POST", BIDS, newer.to_wire())

    assert reply.status == 200
    assert reply.body["status"] == "replaced"
    stored = await home.client.bid(interval)
    assert stored["digest"] == newer.digest
    assert stored["bid"] == {
        "interval_start": interval,
        "sell": [{"price": 12, "energy_wh": 900, "asset": "pv"}],
        "buy": [],
    }


async def test_bids_for_different_intervals_and_homes_are_independent(hub: Hub) -> None:
    home, neighbour = await hub.enrol(), await hub.enrol()
    interval = await next_interval(hub)
    assert (await submit(hub, home, interval, buy=[(25, 1, "base")]))[0] == 201
    assert (await submit(hub, home, interval + 900, buy=[(26, 1, "base")]))[0] == 201
    assert (await submit(hub, neighbour, interval, buy=[(27, 1, "base")]))[0] == 201
    assert (await neighbour.client.bid(interval))["bid"]["buy"][0]["price"] == 27
    assert (await home.client.bid(interval))["bid"]["buy"][0]["price"] == 25


async def test_get_bid_without_one_is_404(hub: Hub) -> None:
    home = await hub.enrol()
    with pytest.raises(HubError) as refusal:
        await home.client.bid(await next_interval(hub))
    assert (refusal.value.status, refusal.value.reason) == (404, "not_found")


async def test_bid_is_accepted_until_just_before_gate_closure(hub: Hub, clock: FakeClock) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub)
    clock.set(hub.config.gate_closure_of(interval) - 0.001)
    assert (await submit(hub, home, interval, buy=[(25, 500, "base")]))[0] == 201


async def test_late_bid_after_gate_closure_is_409_gate_closed_and_keeps_the_old_bid(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub)
    _, first = await submit(hub, home, interval, buy=[(25, 500, "base")])

    clock.set(hub.config.gate_closure_of(interval))  # the gate closes at this very second
    late = await submit(hub, home, interval, buy=[(29, 900, "base")])
    clock.advance(30)
    later = await submit(hub, home, interval, buy=[(29, 900, "base")])

    assert refused(late, 409, "gate_closed")
    assert refused(later, 409, "gate_closed")
    assert (await home.client.bid(interval))["digest"] == first["digest"]


async def test_bid_for_a_past_interval_is_409_gate_closed(hub: Hub) -> None:
    home = await hub.enrol()
    current = hub.config.interval_start_of(int(hub.clock()))
    assert refused(await submit(hub, home, current, buy=[(25, 1, "base")]), 409, "gate_closed")


@pytest.mark.parametrize("offset", [1, 450, 899, -1])
async def test_misaligned_interval_is_422_interval_misaligned(hub: Hub, offset: int) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub) + 900 + offset
    answer = await submit(hub, home, interval, buy=[(25, 1, "base")])
    assert refused(answer, 422, "interval_misaligned")


async def test_bid_beyond_the_horizon_is_422_interval_too_far(hub: Hub) -> None:
    home = await hub.enrol()
    horizon = hub.config.bid_horizon_seconds
    last_ok = hub.config.interval_start_of(int(hub.clock() + horizon))

    at_horizon = await submit(hub, home, last_ok, buy=[(25, 1, "base")])
    too_far = await submit(hub, home, last_ok + 900, buy=[(25, 1, "base")])

    assert at_horizon[0] == 201
    assert refused(too_far, 422, "interval_too_far")


@pytest.mark.parametrize(
    "sides",
    [
        {"buy": [(20, 100, "base"), (21, 100, "base")]},
        {"sell": [(15, 100, "pv"), (14, 100, "pv")]},
    ],
    ids=["buy-rising", "sell-falling"],
)
async def test_non_monotone_curve_is_422_not_monotone(hub: Hub, sides: dict[str, Any]) -> None:
    home = await hub.enrol()
    answer = await submit(hub, home, await next_interval(hub), **sides)
    assert refused(answer, 422, "not_monotone")


async def test_flat_curves_are_monotone_enough(hub: Hub) -> None:
    home = await hub.enrol()
    answer = await submit(
        hub, home, await next_interval(hub), buy=[(20, 100, "base"), (20, 50, "ev")]
    )
    assert answer[0] == 201


@pytest.mark.parametrize(("buy_price", "sell_price"), [(20, 15), (20, 20)])
async def test_crossing_curves_are_422_curves_cross(
    hub: Hub, buy_price: int, sell_price: int
) -> None:
    home = await hub.enrol()
    answer = await submit(
        hub,
        home,
        await next_interval(hub),
        buy=[(buy_price, 100, "base")],
        sell=[(sell_price, 100, "battery")],
    )
    assert refused(answer, 422, "curves_cross")


async def test_buy_just_below_sell_does_not_cross(hub: Hub) -> None:
    home = await hub.enrol()
    answer = await submit(
        hub, home, await next_interval(hub), buy=[(19, 100, "base")], sell=[(20, 100, "battery")]
    )
    assert answer[0] == 201


@pytest.mark.parametrize(
    "sides",
    [
        {"buy": [(5001, 100, "base")]},
        {"sell": [(-501, 100, "pv")]},
        {"buy": [(20, 0, "base")]},
        {"buy": [(20, 100_001, "base")]},
        {"buy": [(20, 10, "base")] * 17},
    ],
    ids=["price-above-max", "price-below-min", "zero-energy", "step-too-big", "too-many-steps"],
)
async def test_out_of_bounds_bid_is_422_out_of_bounds(hub: Hub, sides: dict[str, Any]) -> None:
    home = await hub.enrol()
    answer = await submit(hub, home, await next_interval(hub), **sides)
    assert refused(answer, 422, "out_of_bounds")


async def test_bounds_are_inclusive(hub: Hub) -> None:
    home = await hub.enrol()
    answer = await submit(
        hub,
        home,
        await next_interval(hub),
        buy=[(-500, 100_000, "base")] * 16,
        sell=[(5000, 1, "pv")],
    )
    assert answer[0] == 201


@pytest.mark.parametrize(
    "body",
    [
        {"buy": [], "sell": []},
        {"buy": [{"price": 20.5, "energy_wh": 1}]},
        {"buy": [{"price": 20, "energy_wh": 1, "asset": "toaster"}]},
        {"buy": [{"price": 20, "energy_wh": 1, "colour": "red"}]},
        {"buy": "lots"},
        {"buy": [{"price": 20, "energy_wh": 1}], "note": "hi"},
    ],
    ids=["empty", "float-price", "bad-asset", "unknown-step-field", "not-a-list", "extra-field"],
)
async def test_malformed_bid_body_is_400_malformed(
    hub: Hub, clock: FakeClock, body: dict[str, Any]
) -> None:
    home = await hub.enrol()
    full = {"interval_start": await next_interval(hub), **body}
    try:
        wire = sign_message(home.key, "bid", full, seq=10**16, ts=clock.ms()).to_wire()
    except ValueError:  # floats cannot even be signed
        wire = {"v": 1, "type": "bid", "key_id": home.key.key_id, "seq": 1, "ts": 0}
        wire |= {"body": full, "sig": "AAAA"}
    reply = await hub.signed(home.key, "POST", BIDS, wire)
    assert (reply.status, reply.body["error"]) == (400, "malformed")


async def test_bid_signed_by_a_meter_key_is_refused(hub: Hub, clock: FakeClock) -> None:
    home = await hub.enrol()
    body = {
        "interval_start": await next_interval(hub),
        "buy": [],
        "sell": [{"price": 9, "energy_wh": 5, "asset": "pv"}],
    }
    by_meter = sign_message(home.meters[0].key, "bid", body, seq=10**16, ts=clock.ms())

    with pytest.raises(HubError) as refusal:
        await home.client.submit_signed_bid(by_meter)

    assert (refusal.value.status, refusal.value.reason) == (403, "key_not_yours")
    assert await hub.store.get_bid(home.home_id, body["interval_start"]) is None


async def test_bid_signed_by_another_homes_key_is_refused(hub: Hub) -> None:
    home, neighbour = await hub.enrol(), await hub.enrol()
    interval = await next_interval(hub)
    theirs = neighbour.client.sign_bid(interval, curves(buy=[(30, 5000, "base")]))

    with pytest.raises(HubError) as refusal:
        await home.client.submit_signed_bid(theirs)

    assert (refusal.value.status, refusal.value.reason) == (403, "key_not_yours")
    assert await hub.store.get_bid(home.home_id, interval) is None
    assert await hub.store.get_bid(neighbour.home_id, interval) is None


async def test_bid_claiming_the_callers_key_but_signed_by_another_is_401_bad_signature(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    body = {"interval_start": await next_interval(hub), "buy": [{"price": 9, "energy_wh": 5}]}
    forged = sign_message(SigningKey.generate(), "bid", body, seq=10**16, ts=clock.ms())
    wire = forged.to_wire() | {"key_id": home.key.key_id}

    reply = await hub.signed(home.key, "POST", BIDS, wire)

    assert (reply.status, reply.body["error"]) == (401, "bad_signature")


async def test_resubmitting_the_same_signed_bid_is_409_replay(hub: Hub) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub)
    message = home.client.sign_bid(interval, curves(buy=[(25, 500, "base")]))
    await home.client.submit_signed_bid(message)

    with pytest.raises(HubError) as refusal:
        await home.client.submit_signed_bid(message)

    assert (refusal.value.status, refusal.value.reason) == (409, "replay")
    stored = await home.client.bid(interval)
    assert (stored["digest"], stored["seq"]) == (message.digest, message.seq)


async def test_older_signed_bid_cannot_overwrite_a_newer_one(hub: Hub) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub)
    older = home.client.sign_bid(interval, curves(buy=[(25, 500, "base")]))
    newer = home.client.sign_bid(interval, curves(buy=[(26, 600, "base")]))
    await home.client.submit_signed_bid(newer)

    with pytest.raises(HubError) as refusal:
        await home.client.submit_signed_bid(older)

    assert (refusal.value.status, refusal.value.reason) == (409, "replay")
    assert (await home.client.bid(interval))["digest"] == newer.digest


async def test_refused_bid_does_not_consume_its_message_sequence(hub: Hub) -> None:
    home = await hub.enrol()
    interval = await next_interval(hub)
    valid = home.client.sign_bid(interval, curves(buy=[(20, 1, "base")]))
    invalid = home.client.sign_bid(interval, curves(buy=[(9999, 1, "base")]))
    assert invalid.seq > valid.seq

    answer = await hub.signed(home.key, "POST", BIDS, invalid.to_wire())
    assert (answer.status, answer.body["error"]) == (422, "out_of_bounds")
    await home.client.submit_signed_bid(valid)

    assert (await home.client.bid(interval))["digest"] == valid.digest
