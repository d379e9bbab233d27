"""The worked example of docs/protocol.md ("Bids and dispatch: the contract"), number by number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gridcoop_home.planner import Battery, DeferrableLoad, PlanRequest, Site, Tariffs, plan
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.dispatch import GridPrices, derive_commands

from hub.market import MarketRules, clear_uniform_price
from hub.service.clearing import order_of

START = datetime(2026, 5, 4, 17, 0, tzinfo=UTC)
SLOTS = 24


def test_the_documented_home_is_planned_bid_cleared_and_dispatched_as_the_docs_say() -> None:
    local = [25.0] * 4 + [30.0] * 12 + [12.0] * 8  # 25 now, 30 in the evening, 12 after 21:00
    request = PlanRequest(
        start=START,
        slots=SLOTS,
        site=Site(grid_limit_w=11_000),
        tariffs=Tariffs(retail=[30.0] * SLOTS, feed_in=[8.0] * SLOTS),
        pv_forecast_w=[0.0] * SLOTS,
        base_load_forecast_w=[1_600.0] * SLOTS,
        price_forecast=local,
        battery=Battery(
            capacity_wh=10_000,
            max_charge_w=5_000,
            max_discharge_w=5_000,
            soc_wh=6_000,
            reserve_wh=1_000,
            degradation_cost=2,
        ),
        loads=(
            DeferrableLoad(
                "washer",
                2_000,
                START,
                START + timedelta(hours=6),
                duration_min=60,
                discomfort_per_hour=10,
            ),
        ),
    )
    result = plan(request)
    schedule = result.schedule
    assert schedule.battery_charge_w[0] - schedule.battery_discharge_w[0] == 5_000
    assert schedule.loads_w["washer"][0] == 2_000
    assert round(schedule.grid_import_w[0]) == 8_600
    (washer,) = result.discomfort
    assert round(washer.price or 0) == 35

    bids = result.bids
    assert bids is not None
    assert [(s.price, s.energy_wh, s.asset) for s in bids.buy] == [
        (29, 900, "battery"),
        (25, 1_250, "battery"),
    ]
    assert [(s.price, s.energy_wh, s.asset) for s in bids.sell] == [(30, 350, "battery")]
    assert dict(bids.baseline) == {"battery": -900, "load:washer": 500}

    neighbours = {
        "n1": BidCurves((), (BidStep(12, 1_500),)),
        "n2": BidCurves((), (BidStep(14, 1_500),)),
        "n3": BidCurves((), (BidStep(16, 1_500),)),
        "n4": BidCurves((BidStep(27, 1_200),), ()),
    }
    homes = {"home": bids, **neighbours}
    cleared = clear_uniform_price(
        [order_of(h, b) for h, b in homes.items()], MarketRules(retail_price=30, feed_in_price=8)
    )
    assert (cleared.price, cleared.volume_wh) == (16, 3_350)
    assert (cleared.price_low, cleared.price_high) == (16, 16)
    (mine,) = [a for a in cleared.allocations if a.home_id == "home"]
    buy = [f.local_wh + f.grid_wh for f in mine.buy_fills]
    sell = [f.local_wh + f.grid_wh for f in mine.sell_fills]
    assert (buy, sell, mine.paid_mminor) == ([900, 1_250], [0], 34_400)

    commands = derive_commands(bids, buy, sell, 900, GridPrices(30, 8))
    assert [(c.device, c.action, c.power_w, c.energy_wh) for c in commands] == [
        ("battery", "charge", 5_000, 1_250),
        ("load:washer", "start", 2_000, 500),
    ]
