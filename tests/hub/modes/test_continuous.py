"""Continuous mode over HTTP: homes trade signed limit orders against one order book per interval
(price-time priority, partial fills, cancellation), the book survives a restart by replaying its
log, and at gate closure it settles into the same results and dispatch as a periodic clearing.

Grid prices 30/8, no fee. Orders go to the next open interval unless a test says otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.config import HubConfig, NetworkSettings
from hub.server.runtime import CLEARING
from tests.hub.modes.conftest import MakeHub
from tests.hub.modes.support import (
    THIN_FEEDER,
    cancel_order,
    next_of_type,
    sign_order,
    submit_order,
    with_feeder,
)
from tests.hub.server.support import FakeClock, Home, Hub, curves

CONTINUOUS = HubConfig(network=NetworkSettings(market_mode="continuous"))


async def open_hub(make_hub: MakeHub, clock: FakeClock, config: HubConfig = CONTINUOUS) -> Hub:
    return await make_hub(config, clock=clock)


def next_interval(hub: Hub) -> int:
    return hub.config.next_open_interval(hub.clock())


async def settle(hub: Hub, clock: FakeClock, interval: int) -> dict[str, Any]:
    clock.set(hub.config.gate_closure_of(interval) + 1)
    assert await hub.app[CLEARING].clear(interval) is not None
    return (await hub.raw("GET", f"/api/v1/market/intervals/{interval}")).body  # type: ignore[no-any-return]


async def allocation(home: Home, interval: int) -> dict[str, Any]:
    return (await home.client.result(interval))["allocation"]  # type: ignore[no-any-return]


async def test_a_crossing_order_trades_at_the_resting_price_and_its_rest_rests(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await open_hub(make_hub, clock)
    seller, buyer = await hub.enrol(), await hub.enrol()
    interval = next_interval(hub)

    resting = await submit_order(hub, seller, interval, "sell", 12, 1000, "s1", "battery")
    crossing = await submit_order(hub, buyer, interval, "buy", 20, 1500, "b1", "ev")

    assert resting.status == 201
    assert resting.body["order_id"] == f"{seller.home_id}:s1"
    assert (resting.body["status"], resting.body["resting_wh"]) == ("resting", 1000)
    assert crossing.body["status"] == "partially_filled"
    assert crossing.body["trades"] == [{"price": 12, "energy_wh": 1000}]
    assert (crossing.body["filled_wh"], crossing.body["resting_wh"]) == (1000, 500)


async def test_better_prices_first_then_earlier_orders(make_hub: MakeHub, clock: FakeClock) -> None:
    hub = await open_hub(make_hub, clock)
    dear, early, late, buyer = [await hub.enrol() for _ in range(4)]
    interval = next_interval(hub)
    await submit_order(hub, dear, interval, "sell", 15, 500, "a")
    await submit_order(hub, early, interval, "sell", 12, 500, "a")
    await submit_order(hub, late, interval, "sell", 12, 500, "a")

    bought = await submit_order(hub, buyer, interval, "buy", 20, 800, "a")

    assert bought.body["trades"] == [
        {"price": 12, "energy_wh": 500},
        {"price": 12, "energy_wh": 300},
    ]
    await settle(hub, clock, interval)
    sold = [(await allocation(h, interval))["sold_local_wh"] for h in (dear, early, late)]
    assert sold == [0, 500, 300]


async def test_cancel_withdraws_what_is_left_of_the_homes_own_order(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await open_hub(make_hub, clock)
    seller, buyer = await hub.enrol(), await hub.enrol()
    interval = next_interval(hub)
    await submit_order(hub, seller, interval, "sell", 12, 300, "s1")
    order_id = (await submit_order(hub, buyer, interval, "buy", 20, 1000, "b1")).body["order_id"]

    others = await cancel_order(hub, seller, order_id)
    cancelled = await cancel_order(hub, buyer, order_id)
    again = await cancel_order(hub, buyer, order_id)
    unknown = await cancel_order(hub, buyer, f"{buyer.home_id}:nope")

    assert (others.status, others.body["error"]) == (404, "unknown_order")
    assert cancelled.body == {
        "order_id": order_id,
        "interval_start": interval,
        "status": "cancelled",
        "withdrawn_wh": 700,
    }
    assert (again.body["status"], again.body["withdrawn_wh"]) == ("nothing_left", 0)
    assert (unknown.status, unknown.body["error"]) == (404, "unknown_order")
    late_seller = await submit_order(hub, seller, interval, "sell", 12, 500, "s2")
    assert late_seller.body["trades"] == []  # nothing of the buy order is left


async def test_orders_that_break_the_rules_are_refused_with_a_reason(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await open_hub(make_hub, clock)
    home = await hub.enrol()
    interval = next_interval(hub)
    await submit_order(hub, home, interval, "sell", 20, 500, "s1")

    duplicate = await submit_order(hub, home, interval + 900, "buy", 10, 500, "s1")
    crossing = await submit_order(hub, home, interval, "buy", 25, 500, "b1")
    misaligned = await submit_order(hub, home, interval + 1, "buy", 10, 500, "b2")
    too_big = await submit_order(hub, home, interval, "buy", 10, 200_000, "b3")
    clock.set(hub.config.gate_closure_of(interval))
    closed = await submit_order(hub, home, interval, "buy", 10, 500, "b4")
    closed_cancel = await cancel_order(hub, home, f"{home.home_id}:s1")

    assert (duplicate.status, duplicate.body["error"]) == (409, "duplicate_order")
    assert (crossing.status, crossing.body["error"]) == (422, "curves_cross")
    assert (misaligned.status, misaligned.body["error"]) == (422, "interval_misaligned")
    assert (too_big.status, too_big.body["error"]) == (422, "out_of_bounds")
    assert (closed.status, closed.body["error"]) == (409, "gate_closed")
    assert (closed_cancel.status, closed_cancel.body["error"]) == (409, "gate_closed")


async def test_a_continuous_hub_refuses_bids_and_a_periodic_one_refuses_orders(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    continuous = await open_hub(make_hub, clock)
    periodic = await make_hub(HubConfig(), clock=clock)
    home, other = await continuous.enrol(), await periodic.enrol()
    interval = next_interval(continuous)

    bid = await continuous.signed(
        home.key,
        "POST",
        "/api/v1/bids",
        home.client.sign_bid(interval, curves(buy=[(20, 100, "base")])).to_wire(),
    )
    order = await submit_order(periodic, other, interval, "buy", 20, 100, "o1")
    info = (await continuous.raw("GET", "/api/v1/info")).body

    assert (bid.status, bid.body["error"]) == (409, "wrong_market_mode")
    assert (order.status, order.body["error"]) == (409, "wrong_market_mode")
    assert (info["market_mode"], info["feeder_configured"]) == ("continuous", False)


async def test_an_order_signed_by_another_key_or_badly_is_refused(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await open_hub(make_hub, clock)
    home, other = await hub.enrol(), await hub.enrol()
    interval = next_interval(hub)
    foreign = sign_order(other, interval, "buy", 20, 100, "x", ts_ms=hub.now_ms()).to_wire()
    forged = {**sign_order(home, interval, "buy", 20, 100, "y", ts_ms=hub.now_ms()).to_wire()}
    forged["body"] = {**forged["body"], "energy_wh": 99}

    not_yours = await hub.signed(home.key, "POST", "/api/v1/orders", foreign)
    bad = await hub.signed(home.key, "POST", "/api/v1/orders", forged)

    assert (not_yours.status, not_yours.body["error"]) == (403, "key_not_yours")
    assert (bad.status, bad.body["error"]) == (401, "bad_signature")


def thin_config(tmp_path: Path) -> HubConfig:
    path = tmp_path / "thin.json"
    path.write_text(json.dumps(THIN_FEEDER))
    # At the lines' ratings, not the default 95 %: line B carries its full 11 kVA.
    return with_feeder(
        feeder=path, market_mode="continuous", voltage_margin_pu=0.0, loading_limit=1.0
    )


async def test_the_feeder_limits_what_may_trade_between_two_buses(
    make_hub: MakeHub, clock: FakeClock, tmp_path: Path
) -> None:
    # Line B (bus 1 - bus 2) carries 11 kVA: 2750 Wh in 15 minutes.
    hub = await open_hub(make_hub, clock, thin_config(tmp_path))
    far_pv, busbar, busbar2, far = (
        await hub.enrol(bus=2),
        await hub.enrol(bus=0),
        await hub.enrol(bus=0),
        await hub.enrol(bus=2),
    )
    interval = next_interval(hub)
    await submit_order(hub, far_pv, interval, "sell", 10, 5000, "pv", "pv")

    first = await submit_order(hub, busbar, interval, "buy", 20, 4000, "b")
    refused = await submit_order(hub, busbar2, interval, "buy", 20, 100, "b")
    same_bus = await submit_order(hub, far, interval, "buy", 20, 500, "b")

    assert (first.body["filled_wh"], first.body["resting_wh"]) == (2750, 1250)
    assert (refused.body["status"], refused.body["blocked"]) == ("resting", 1)
    assert same_bus.body["filled_wh"] == 500  # no line between them
    info = (await hub.raw("GET", "/api/v1/info")).body
    assert (info["market_mode"], info["feeder_configured"]) == ("continuous", True)


async def test_at_gate_closure_the_book_settles_into_allocations_and_dispatch(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await open_hub(make_hub, clock)
    seller, buyer = await hub.enrol(), await hub.enrol()
    interval = next_interval(hub)
    await submit_order(hub, seller, interval, "sell", 6, 400, "export", "pv")  # worth 8: feed-in
    await submit_order(hub, seller, interval, "sell", 12, 1000, "s", "battery")
    await submit_order(hub, buyer, interval, "buy", 20, 600, "b", "battery")
    await submit_order(hub, buyer, interval, "buy", 35, 300, "ev", "ev")  # >= retail

    cleared = await settle(hub, clock, interval)

    assert cleared["method"] == "continuous"
    assert (cleared["participants"], cleared["volume_wh"]) == (2, 900)
    assert (cleared["price_low"], cleared["price_high"]) == (8, 12)
    sold, bought = await allocation(seller, interval), await allocation(buyer, interval)
    assert (sold["sold_local_wh"], sold["sold_grid_wh"]) == (900, 0)
    assert bought["bought_local_wh"] == 900
    assert bought["paid_mminor"] == 400 * 8 + 500 * 12
    assert {c["device"]: c["action"] for c in sold["dispatch"]} == {
        "battery": "discharge",
        "pv": "export",
    }
    assert {c["device"]: (c["action"], c["energy_wh"]) for c in bought["dispatch"]} == {
        "battery": ("charge", 600),
        "ev": ("charge", 300),
    }
    bid = (await hub.signed(buyer.key, "GET", f"/api/v1/bids/{interval}")).body
    assert bid["bid"] == {  # the orders as one curve, highest buy first: what was dispatched
        "interval_start": interval,
        "buy": [
            {"price": 35, "energy_wh": 300, "asset": "ev"},
            {"price": 20, "energy_wh": 600, "asset": "battery"},
        ],
        "sell": [],
    }
    assert bid["digest"] == bought["bid_digest"]
    late = await submit_order(hub, buyer, interval, "buy", 20, 100, "late")
    assert (late.status, late.body["error"]) == (409, "gate_closed")


async def test_an_interval_without_orders_settles_empty(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await open_hub(make_hub, clock)

    cleared = await settle(hub, clock, next_interval(hub))

    assert (cleared["participants"], cleared["volume_wh"], cleared["price"]) == (0, 0, None)


async def test_after_a_restart_the_book_is_rebuilt_with_identical_trades(
    make_hub: MakeHub, clock: FakeClock, tmp_path: Path
) -> None:
    db = tmp_path / "restart.db"
    first = await make_hub(CONTINUOUS, clock=clock, db_path=db)
    a, b, c = await first.enrol(), await first.enrol(), await first.enrol()
    interval = next_interval(first)
    await submit_order(first, a, interval, "sell", 11, 700, "1")
    await submit_order(first, b, interval, "sell", 9, 400, "1")
    await submit_order(first, c, interval, "buy", 15, 900, "1")
    await cancel_order(first, a, f"{a.home_id}:1")
    await submit_order(first, a, interval, "sell", 13, 600, "2")
    before = await first.app[CLEARING].continuous.trades(interval)  # type: ignore[union-attr]
    await first.stop()

    second = await make_hub(CONTINUOUS, clock=clock, db_path=db)
    after = await second.app[CLEARING].continuous.trades(interval)  # type: ignore[union-attr]
    more = await submit_order(second, c, interval, "buy", 14, 500, "2")

    assert after == before
    assert [t.energy_wh for t in before] == [400, 500]
    assert more.body["trades"] == [{"price": 13, "energy_wh": 500}]  # a's order "2" survived


async def test_trades_are_public_news_without_home_ids_and_private_fills(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await open_hub(make_hub, clock)
    seller, buyer = await hub.enrol(), await hub.enrol()
    interval = next_interval(hub)
    await submit_order(hub, seller, interval, "sell", 12, 1000, "s")

    async with hub.client().stream() as public, seller.client.stream() as mine:
        await submit_order(hub, buyer, interval, "buy", 20, 400, "b")
        trade = await next_of_type(public, "trade")
        fill = await next_of_type(mine, "fill")

    assert trade == {
        "type": "trade",
        "interval_start": interval,
        "trades": [{"price": 12, "energy_wh": 400}],
        "volume_wh": 400,
        "best_bid": None,
        "best_ask": 12,
    }
    assert fill["fill"] == {
        "interval_start": interval,
        "order_id": f"{seller.home_id}:s",
        "side": "sell",
        "price": 12,
        "energy_wh": 400,
        "resting_wh": 600,
    }
