"""Bid curves: monotone, non-crossing, tagged, and clearing exactly the schedule's first slot."""

from __future__ import annotations

from gridcoop_home.planner import EV, Plan, bidding, plan
from gridcoop_home.protocol.bids import ASSET_PATTERN, BidCurves, BidStep
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.home.planner.factory import at, battery, hourly, load, request


def cleared_net_wh(bids: BidCurves, price: int) -> int:
    bought = sum(s.energy_wh for s in bids.buy if s.price >= price)
    sold = sum(s.energy_wh for s in bids.sell if s.price <= price)
    return bought - sold


def scheduled_net_wh(result: Plan) -> int:
    s = result.schedule
    return round(s.grid_import_w[0] / 4) - round(s.grid_export_w[0] / 4)


def assert_well_formed(result: Plan) -> BidCurves:
    bids = result.bids
    assert bids is not None
    buy_prices = [s.price for s in bids.buy]
    sell_prices = [s.price for s in bids.sell]
    assert buy_prices == sorted(buy_prices, reverse=True)
    assert sell_prices == sorted(sell_prices)
    if bids.buy and bids.sell:
        assert max(buy_prices) < min(sell_prices)
    for step in (*bids.buy, *bids.sell):
        assert step.energy_wh > 0
        assert ASSET_PATTERN.match(step.asset)
    return bids


def home(now_price: float, pv_w: float = 0.0, *, with_battery: bool = True) -> Plan:
    prices = hourly([25] * 3 + [8] * 3 + [35] * 3 + [20] * 3)
    prices[0] = now_price
    return plan(
        request(
            [0] * 12,
            price_forecast=prices,
            pv_forecast_w=[pv_w] * 48,
            battery=battery(soc_wh=5_000) if with_battery else None,
            ev=EV(
                capacity_wh=50_000,
                soc_wh=20_000,
                target_wh=30_000,
                departure=at(10),
                max_charge_w=7_000,
            ),
            loads=(
                load("washer", discomfort_per_hour=50),
                load("dryer", discomfort_per_hour=0.5, interruptible=True),
            ),
        )
    )


@settings(max_examples=12, deadline=None)
@given(now_price=st.integers(5, 40), pv_w=st.sampled_from([0.0, 2_000.0, 8_000.0]))
def test_bids_are_monotone_non_crossing_and_match_the_schedule(now_price: int, pv_w: float) -> None:
    result = home(now_price, pv_w)
    bids = assert_well_formed(result)
    assert cleared_net_wh(bids, now_price) == scheduled_net_wh(result)


def test_bids_reflect_discomfort_prices() -> None:
    result = home(25, with_battery=False)
    bids = assert_well_formed(result)
    by_asset = {s.asset: s for s in (*bids.buy, *bids.sell)}
    # The washer hates waiting (50 c/h): worth 50 c/kWh now, capped at the 40 c/kWh retail
    # price, where the grid always serves it.
    washer = next(d for d in result.discomfort if d.load_id == "washer")
    assert washer.price is not None and washer.price > 40
    assert by_asset["load:washer"].price == 40
    # The dryer does not mind: it only buys now if energy is about as cheap as the 8 c/kWh to come.
    dryer = next(d for d in result.discomfort if d.load_id == "dryer")
    assert dryer.price is not None and 8 <= dryer.price < 10
    assert by_asset["load:dryer"].price == 8


def test_battery_bids_below_the_value_of_its_stored_energy() -> None:
    result = plan(request([8, 35, 35, 35, 35], battery=battery(soc_wh=5_000)))
    bids = assert_well_formed(result)
    (charge,) = [s for s in bids.buy if s.asset == "battery" and s.energy_wh == 750]  # 3 kW
    # Charged now, sold at 35 c/kWh later: worth 35 less round-trip losses and wear, ~29.6 c/kWh.
    assert charge.price == 29
    # Above 35 c/kWh it would rather discharge now as well: a sell step at 35.
    assert [(s.price, s.asset) for s in bids.sell] == [(35, "battery")]


def test_ev_that_must_charge_now_bids_at_retail() -> None:
    # 8 kWh in 1.5 h at 7 kW x 90 %: without charging now the target is out of reach.
    ev = EV(
        capacity_wh=50_000, soc_wh=10_000, target_wh=18_000, departure=at(1.5), max_charge_w=7_000
    )
    result = plan(request([30, 30, 30], ev=ev))
    bids = assert_well_formed(result)
    (step,) = [s for s in bids.buy if s.asset == "ev"]
    assert step.price == 40  # the retail tariff: always served
    # Five later slots add 7.875 kWh; the missing 125 Wh (139 Wh at the meter) must come now.
    assert step.energy_wh == 139


def test_island_mode_makes_no_bids() -> None:
    assert plan(request([20, 20], island=True)).bids is None


def walk_every_price(
    steps: list[bidding._Step], fixed: int, low: int, high: int
) -> tuple[list[BidStep], list[BidStep]]:
    """The curves by definition: at every integer price from low to high, the demand given up
    just above it becomes a buy step and the supply added at it a sell step."""
    buy: list[BidStep] = []
    sell: list[BidStep] = []
    for price in range(low, high + 1):
        here = bidding._net_demand(steps, fixed, price)
        above = bidding._net_demand(steps, fixed, price + 1) if price < high else 0
        causes = [s for s in steps if s.side == "buy" and s.price == price]
        causes += [s for s in steps if s.side == "sell" and s.price == price + 1]
        buy += bidding._tagged(max(here, 0) - max(above, 0), causes, "base", price)
        below = bidding._net_demand(steps, fixed, price - 1) if price > low else 0
        causes = [s for s in steps if s.side == "sell" and s.price == price]
        causes += [s for s in steps if s.side == "buy" and s.price == price - 1]
        sell += bidding._tagged(max(-here, 0) - max(-below, 0), causes, "pv", price)
    return buy, sell


step_lists = st.lists(
    st.builds(
        bidding._Step,
        asset=st.sampled_from(["battery", "ev", "load:washer", "load:dryer"]),
        side=st.sampled_from(["buy", "sell"]),
        price=st.integers(5, 40),
        energy_wh=st.integers(1, 3_000),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(steps=step_lists, fixed=st.integers(-5_000, 5_000))
def test_the_curves_change_only_at_step_prices_and_the_ends(
    steps: list[bidding._Step], fixed: int
) -> None:
    assert bidding._split(steps, fixed, 5, 40, "pv") == walk_every_price(steps, fixed, 5, 40)
