"""Periodic mode on a feeder: bids clear within the feeder's limits (clear_network), and the hub
publishes how: the clearing method, binding limits, nodal prices and curtailment.

The example feeder (examples/feeders/lindenweg.json): bus 12 ends the long Lindenweg run, where a
lot of PV export pushes the voltage above 1.05 p.u. Grid prices 30/8, no fee, k = 50.
"""

from __future__ import annotations

import json
import logging

import pytest

from hub.market import MarketRules, Order, Step, clear_uniform_price
from hub.server.admin import ADMIN_TOKEN_ENV, token_sha256
from hub.server.runtime import CLEARING
from tests.hub.modes.conftest import MakeHub
from tests.hub.modes.support import next_of_type, with_feeder
from tests.hub.server.support import FakeClock, Home, Hub, curves

RULES = MarketRules(retail_price=30, feed_in_price=8)
# Planning at the feeder's ratings rather than the default safety margins (0.005 p.u., 95 %), so
# that the binding limit is the 1.05 p.u. of the band itself.
AT_RATINGS = {"voltage_margin_pu": 0.0, "loading_limit": 1.0}


async def clear_next(hub: Hub, clock: FakeClock, bids: list[tuple[Home, object]]) -> int:
    """Submit the bids for the next open interval, close its gate and clear it."""
    interval = hub.config.next_open_interval(clock())
    for home, bid in bids:
        await home.client.submit_bid(interval, bid)  # type: ignore[arg-type]
    clock.set(hub.config.gate_closure_of(interval) + 1)
    assert await hub.app[CLEARING].clear(interval) is not None
    return interval


async def test_info_says_how_the_hub_trades(make_hub: MakeHub) -> None:
    hub = await make_hub(with_feeder())

    info = (await hub.raw("GET", "/api/v1/info")).body

    assert (info["market_mode"], info["feeder_configured"]) == ("periodic", True)


async def test_when_no_limit_binds_the_result_is_the_uniform_price_market(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder())
    seller, buyer, small = (
        await hub.enrol(bus=12),
        await hub.enrol(bus=22),
        await hub.enrol(bus=5),
    )
    sell, buy, buy_small = (
        curves(sell=[(10, 2000, "pv")]),
        curves(buy=[(25, 1500, "battery")]),
        curves(buy=[(30, 400, "base")]),
    )

    interval = await clear_next(hub, clock, [(seller, sell), (buyer, buy), (small, buy_small)])

    cleared = await buyer.client.interval(interval)
    uniform = clear_uniform_price(
        [
            Order(seller.home_id, (), (Step(10, 2000),)),
            Order(buyer.home_id, (Step(25, 1500),), ()),
            Order(small.home_id, (Step(30, 400),), ()),
        ],
        RULES,
    )
    assert cleared["method"] == "merit_order"
    assert (cleared["price"], cleared["volume_wh"]) == (uniform.price, uniform.volume_wh)
    assert (cleared["binding"], cleared["congestion_rent_mminor"]) == ([], 0)
    for expected in uniform.allocations:
        home = next(h for h in (seller, buyer, small) if h.home_id == expected.home_id)
        allocation = (await home.client.result(interval))["allocation"]
        assert (allocation["paid_mminor"], allocation["received_mminor"]) == (
            expected.paid_mminor,
            expected.received_mminor,
        )
        assert (allocation["curtailed_buy_wh"], allocation["curtailed_sell_wh"]) == (0, 0)
    network = (await hub.raw("GET", f"/api/v1/market/intervals/{interval}/network")).body
    assert {(n["price"], n["congestion"]) for n in network["nodal_prices"]} == {(uniform.price, 0)}


async def noon(hub: Hub, clock: FakeClock) -> tuple[int, Home, Home, Home]:
    """Two homes at bus 12 export 10 kWh each (40 kW) at 5 and 6; one at bus 1 buys 2 kWh."""
    pv_a, pv_b, buyer = await hub.enrol(bus=12), await hub.enrol(bus=12), await hub.enrol(bus=1)
    interval = await clear_next(
        hub,
        clock,
        [
            (pv_a, curves(sell=[(5, 10_000, "pv")])),
            (pv_b, curves(sell=[(6, 10_000, "pv")])),
            (buyer, curves(buy=[(25, 2000, "battery")])),
        ],
    )
    return interval, pv_a, pv_b, buyer


async def test_congested_noon_export_is_curtailed_and_the_pv_told_so(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder(**AT_RATINGS))

    interval, pv_a, pv_b, buyer = await noon(hub, clock)

    cleared = await buyer.client.interval(interval)
    assert cleared["method"] == "lp"
    assert [(b["kind"], b["element"]) for b in cleared["binding"]] == [("voltage_max", "bus 12")]
    assert cleared["binding"][0]["description"] == "voltage at bus 12 at its 1.05 p.u. maximum"
    cut = (await pv_b.client.result(interval))["allocation"]
    assert cut["curtailed_sell_wh"] == 6500  # the dearer PV gives way first
    assert cut["dispatch"] == [
        {
            "device": "pv",
            "action": "curtail",
            "power_w": 14_000,
            "energy_wh": 3500,
            "reason": "baseline +0 Wh, bought 0 Wh, sold 3500 Wh",
        }
    ]
    assert (await pv_a.client.result(interval))["allocation"]["curtailed_sell_wh"] == 0


async def test_nodal_prices_fall_towards_the_congested_end_and_name_the_binding_limit(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder(**AT_RATINGS))

    interval, *_ = await noon(hub, clock)

    network = (await hub.raw("GET", f"/api/v1/market/intervals/{interval}/network")).body
    prices = {n["bus"]: n for n in network["nodal_prices"]}
    assert network["feeder"] == "Lindenweg example feeder"
    assert prices[12]["price"] < prices[0]["price"]
    assert prices[12]["congestion"] < 0
    assert prices[12]["export_price"] == RULES.feed_in_price + prices[12]["congestion"]
    assert [r["element"] for r in prices[12]["reasons"]] == ["bus 12"]
    assert prices[12]["voltage_pu"] == pytest.approx(1.05, abs=1e-3)
    assert prices[0]["reasons"] == []
    assert network["curtailment"] == [{"bus": 12, "homes": 1, "buy_wh": 0, "sell_wh": 6500}]
    loading = {b["element"]: b["loading"] for b in network["branches"]}
    assert set(loading) >= {"T1 250 kVA", "Lindenweg 12", "Birkenhof 8"}
    assert 0 < loading["Lindenweg 12"] < 1


async def test_money_balances_to_fees_grid_and_congestion_rent(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder())

    interval, *homes = await noon(hub, clock)

    cleared = await homes[0].client.interval(interval)
    allocations = [(await h.client.result(interval))["allocation"] for h in homes]
    paid = sum(a["paid_mminor"] for a in allocations)
    received = sum(a["received_mminor"] for a in allocations)
    grid = (
        cleared["retail_price"] * cleared["grid_import_wh"]
        - cleared["feed_in_price"] * cleared["grid_export_wh"]
    )
    assert cleared["congestion_rent_mminor"] > 0
    assert paid - received == cleared["fees_mminor"] + grid + cleared["congestion_rent_mminor"]


async def test_the_websocket_pushes_the_network_with_the_cleared_interval(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder())

    async with hub.client().stream() as ws:
        interval, *_ = await noon(hub, clock)
        message = await next_of_type(ws, "interval_cleared")

    assert message["interval"]["interval_start"] == interval
    assert message["interval"]["method"] == "lp"
    assert (
        message["network"]
        == (await hub.raw("GET", f"/api/v1/market/intervals/{interval}/network")).body
    )


async def test_a_home_without_a_bus_makes_the_interval_clear_on_the_backstop(
    make_hub: MakeHub, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await make_hub(with_feeder())
    placed, unplaced = await hub.enrol(bus=12), await hub.enrol(bus=None)

    with caplog.at_level(logging.WARNING):
        interval = await clear_next(
            hub,
            clock,
            [
                (placed, curves(sell=[(10, 1000, "pv")])),
                (unplaced, curves(buy=[(25, 800, "base")])),
            ],
        )

    cleared = await placed.client.interval(interval)
    reason = f"home {unplaced.home_id!r} has no bus on feeder 'Lindenweg example feeder'"
    assert (cleared["method"], cleared["fallback_reason"]) == ("backstop", reason)
    assert cleared["volume_wh"] == 800  # the merit order, as if the feeder were unlimited
    assert any(reason in record.getMessage() for record in caplog.records)


async def test_the_no_local_trade_backstop_leaves_only_grid_trades(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder(backstop="no_local_trade"))
    placed, unplaced = await hub.enrol(bus=12), await hub.enrol(bus=None)

    interval = await clear_next(
        hub,
        clock,
        [(placed, curves(sell=[(8, 1000, "pv")])), (unplaced, curves(buy=[(30, 800, "base")]))],
    )

    cleared = await placed.client.interval(interval)
    assert (cleared["method"], cleared["volume_wh"], cleared["price"]) == ("backstop", 0, None)
    assert (cleared["grid_import_wh"], cleared["grid_export_wh"]) == (800, 1000)


async def test_a_bus_the_feeder_does_not_have_counts_as_no_bus(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder())
    stray, buyer = await hub.enrol(bus=99), await hub.enrol(bus=3)

    interval = await clear_next(
        hub,
        clock,
        [(stray, curves(sell=[(10, 500, "base")])), (buyer, curves(buy=[(25, 500, "base")]))],
    )

    cleared = await buyer.client.interval(interval)
    assert cleared["method"] == "backstop"
    assert stray.home_id in cleared["fallback_reason"]


async def test_the_grid_endpoint_shows_the_feeder_and_homes_per_bus_but_no_home_ids(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(with_feeder())
    homes = [await hub.enrol(bus=12), await hub.enrol(bus=12), await hub.enrol(bus=None)]

    reply = await hub.raw("GET", "/api/v1/grid")

    grid = reply.body
    assert reply.status == 200
    assert grid["name"] == "Lindenweg example feeder"
    assert (len(grid["buses"]), len(grid["lines"])) == (31, 30)
    assert {b["id"]: b["homes"] for b in grid["buses"]}[12] == 2
    assert (grid["home_count"], grid["homes_without_bus"]) == (2, 1)
    assert grid["transformer"] == {
        "name": "T1 250 kVA",
        "bus": 0,
        "limit_kva": 250.0,
        "voltage_pu": 1.02,
    }
    line = next(line for line in grid["lines"] if line["name"] == "Lindenweg 12")
    assert (line["from_bus"], line["to_bus"]) == (11, 12)
    assert line["limit_kva"] == pytest.approx(190.5, abs=0.1)  # 275 A at 0.4 kV
    text = json.dumps(grid)
    assert not any(home.home_id in text for home in homes)


async def test_without_a_feeder_there_is_no_grid_and_no_interval_network(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    from hub.config import HubConfig

    hub = await make_hub(HubConfig())
    home = await hub.enrol()
    interval = await clear_next(hub, clock, [(home, curves(buy=[(30, 100, "base")]))])

    grid = await hub.raw("GET", "/api/v1/grid")
    network = await hub.raw("GET", f"/api/v1/market/intervals/{interval}/network")
    later = await hub.raw("GET", f"/api/v1/market/intervals/{interval + 900}/network")

    assert (grid.status, grid.body["error"]) == (404, "not_configured")
    assert (network.status, network.body["error"]) == (404, "not_configured")
    assert (later.status, later.body["error"]) == (404, "not_found")
    assert (await home.client.interval(interval))["method"] == "uniform_price"


async def test_the_dashboard_names_the_mode_and_admin_invites_only_to_feeder_buses(
    make_hub: MakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, token_sha256("admin-test-token"))
    admin = {"Authorization": "Bearer admin-test-token"}
    hub = await make_hub(with_feeder())

    overview = (await hub.raw("GET", "/api/v1/dashboard/overview")).body
    unknown = await hub.raw("POST", "/api/v1/admin/invites", {"name": "A", "bus": 999}, admin)
    known = await hub.raw("POST", "/api/v1/admin/invites", {"name": "B", "bus": 12}, admin)

    assert overview["market_mode"] == "periodic_network"
    assert (unknown.status, unknown.body["error"]) == (400, "unknown_bus")
    assert "999" in unknown.body["detail"]
    assert known.status == 201
