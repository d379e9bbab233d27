"""Bids: the curves say, at every price, exactly what the home's devices would rather do.

The reference (tests/home/planner/reference.py) is the reservation-price model written out price
by price, independent of the builder: an action (a reservation) is on at a clearing price p when
p is on its side of its integer price; the plan's actions stay on at the expected price and the
others off. The bid, read with the one dispatch rule (gridcoop_home.protocol.dispatch.
device_energies), must give every device exactly that energy at every price, its demand and
supply must be the model's net demand split at zero, and at the expected price it must be the
plan's first slot.
"""

from __future__ import annotations

import math

from gridcoop_home.planner import EV, Plan, PlanRequest, bidding, plan
from gridcoop_home.planner.model import solve
from gridcoop_home.planner.problem import build_problem
from gridcoop_home.planner.reservation import Pricer, Reservation
from gridcoop_home.protocol.bids import BidCurves, BidStep
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.home.planner.factory import at, battery, hourly, load, request
from tests.home.planner.reference import (
    Model,
    assert_well_formed,
    assert_whole_curve,
    net_wh,
    price_taker_energies,
)

reservations = st.lists(
    st.builds(
        Reservation,
        asset=st.sampled_from(["battery", "ev", "load:washer", "load:dryer"]),
        side=st.sampled_from(["buy", "sell"]),
        price=st.one_of(st.floats(-10, 60), st.just(math.inf)),
        most_kwh=st.floats(0.001, 3.0),
        planned_kwh=st.one_of(st.just(0.0), st.floats(0.001, 3.0)),
    ),
    max_size=8,
)


@settings(max_examples=1_000, deadline=None)
@given(
    found=reservations,
    fixed=st.integers(-4_000, 4_000),
    pv_wh=st.integers(0, 3_000),
    expected=st.integers(8, 40),
)
def test_at_every_price_each_device_does_what_its_reservation_says(
    found: list[Reservation], fixed: int, pv_wh: int, expected: int
) -> None:
    model = Model(found, expected, feed_in=8, retail=40)
    net = fixed + sum(model.plan().values())
    bids = bidding.build_bids(found, net, expected, feed_in=8, retail=40, pv_wh=pv_wh)
    assert_well_formed(bids)
    assert_whole_curve(bids, model, net, pv_wh)


def test_an_idle_battery_tied_with_the_expected_price_stays_idle_at_that_price() -> None:
    # Charging is worth exactly the expected 30 c/kWh and the plan leaves the battery idle: the
    # bid must not charge at 30 (it buys at 29), and nothing turns it into a sale.
    idle = Reservation("battery", "buy", 30.0, most_kwh=0.75, planned_kwh=0.0)
    bids = bidding.build_bids([idle], 0, 30.0, feed_in=8, retail=40)
    assert [(s.price, s.energy_wh, s.asset) for s in bids.buy] == [(29, 750, "battery")]
    assert bids.sell == ()
    assert price_taker_energies(bids, 30)["battery"] == 0
    assert price_taker_energies(bids, 29)["battery"] == 750


def test_a_battery_discharging_into_the_house_charges_within_its_rating_when_power_is_cheap() -> (
    None
):
    # The field report: the plan discharges 1647 W into the house at an expected 25 c/kWh; the
    # battery would stop below 22 and charge 5 kW below 15. At 13 c/kWh the dispatch must be a
    # 5 kW charge, not the 6.7 kW "charge" that adding up both steps gave.
    discharge = Reservation("battery", "sell", 22.0, most_kwh=1.25, planned_kwh=0.41175)
    charge = Reservation("battery", "buy", 15.0, most_kwh=1.25, planned_kwh=0.0)
    # The plan imports nothing: the battery covers the house's 412 Wh.
    bids = bidding.build_bids([discharge, charge], 0, 25.0, feed_in=8, retail=30)
    assert net_wh(bids, 25) == 0
    assert price_taker_energies(bids, 25)["battery"] == -412  # the plan: discharge 1647 W
    assert price_taker_energies(bids, 18)["battery"] == 0  # between: idle
    assert price_taker_energies(bids, 13)["battery"] == 1_250  # 5 kW, the rating
    assert price_taker_energies(bids, 22)["battery"] == -412


def test_a_washing_machine_bid_as_a_sale_still_runs_below_its_discomfort_price() -> None:
    # The field report: PV surplus makes the running washer a *sell* step ("above 22 I would
    # rather stop it and sell"); cleared at 13 c/kWh it must run, not be deferred.
    washer = Reservation("load:washer", "buy", 21.0, most_kwh=0.5, planned_kwh=0.5)
    bids = bidding.build_bids([washer], -1_500, 16.0, feed_in=8, retail=30, pv_wh=2_000)
    assert [(s.price, s.asset) for s in bids.sell if s.asset == "load:washer"] == [
        (22, "load:washer")
    ]
    assert price_taker_energies(bids, 13)["load:washer"] == 500
    assert price_taker_energies(bids, 21)["load:washer"] == 500
    assert price_taker_energies(bids, 22)["load:washer"] == 0


def test_the_connection_limit_holds_when_everything_cheap_switches_on_together() -> None:
    # Each action was priced alone: at 10 c/kWh the battery (4 kW), the EV (7.4 kW) and a 6 kW
    # sauna would all run, 17.4 kW on an 11 kW connection.
    found = [
        Reservation("battery", "buy", 25.0, most_kwh=1.0, planned_kwh=0.0),
        Reservation("ev", "buy", 12.0, most_kwh=1.85, planned_kwh=0.0),
        Reservation("load:sauna", "buy", math.inf, most_kwh=1.5, planned_kwh=1.5),
    ]
    bids = bidding.build_bids(found, 1_500, 31.0, feed_in=8, retail=35, grid_limit_wh=2_750)
    assert sum(s.energy_wh for s in bids.buy) <= 2_750
    assert price_taker_energies(bids, 31) == {"battery": 0, "ev": 0, "load:sauna": 1_500}
    assert price_taker_energies(bids, 25)["battery"] == 1_000  # the better-priced step first


def home_request(
    now_price: float, pv_w: float = 0.0, *, with_battery: bool = True, soc_wh: float = 5_000
) -> PlanRequest:
    prices = hourly([25] * 3 + [8] * 3 + [35] * 3 + [20] * 3)
    prices[0] = now_price
    return request(
        [0] * 12,
        price_forecast=prices,
        pv_forecast_w=[pv_w] * 48,
        battery=battery(soc_wh=soc_wh) if with_battery else None,
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


def home(now_price: float, pv_w: float = 0.0, *, with_battery: bool = True) -> Plan:
    return plan(home_request(now_price, pv_w, with_battery=with_battery))


def plan_energies(result: Plan) -> dict[str, int]:
    s = result.schedule
    energies = {
        "battery": round((s.battery_charge_w[0] - s.battery_discharge_w[0]) / 4),
        "ev": round(s.ev_charge_w[0] / 4),
    }
    energies.update({f"load:{k}": round(v[0] / 4) for k, v in s.loads_w.items()})
    return energies


@settings(max_examples=30, deadline=None)
@given(
    now_price=st.integers(5, 40),
    pv_w=st.sampled_from([0.0, 2_000.0, 8_000.0]),
    soc_wh=st.sampled_from([500.0, 1_000.0, 5_000.0, 9_800.0]),
)
def test_the_plan_s_bid_is_its_reservation_model_at_every_price(
    now_price: int, pv_w: float, soc_wh: float
) -> None:
    req = home_request(now_price, pv_w, soc_wh=soc_wh)
    result = plan(req)
    assert result.bids is not None
    assert_well_formed(result.bids)
    s = result.schedule
    net = round(s.grid_import_w[0] / 4) - round(s.grid_export_w[0] / 4)
    # At the expected price: the plan's first slot.
    got = price_taker_energies(result.bids, now_price)
    for device, planned in plan_energies(result).items():
        assert abs(got.get(device, 0) - planned) <= 1, device
    assert net_wh(result.bids, now_price) == net
    # At every price: the model of the plan's own reservation prices, whole curve.
    problem = build_problem(req)
    found = Pricer(problem, solve(problem)).all()
    model = Model(found, now_price, feed_in=5, retail=40)
    assert_whole_curve(result.bids, model, net, round(s.pv_used_w[0] / 4))


def test_bids_reflect_discomfort_prices() -> None:
    result = home(25, with_battery=False)
    assert result.bids is not None
    by_asset = {s.asset: s for s in (*result.bids.buy, *result.bids.sell)}
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
    assert result.bids is not None
    (charge,) = [s for s in result.bids.buy if s.asset == "battery" and s.energy_wh == 750]
    # Charged now, sold at 35 c/kWh later: worth 35 less round-trip losses and wear, ~29.6 c/kWh.
    assert charge.price == 29
    # Above 35 c/kWh it would rather discharge now as well: a sell step at 35.
    assert [(s.price, s.asset) for s in result.bids.sell] == [(35, "battery")]


def test_ev_that_must_charge_now_bids_at_retail() -> None:
    # 8 kWh in 1.5 h at 7 kW x 90 %: without charging now the target is out of reach.
    ev = EV(
        capacity_wh=50_000, soc_wh=10_000, target_wh=18_000, departure=at(1.5), max_charge_w=7_000
    )
    result = plan(request([30, 30, 30], ev=ev))
    assert result.bids is not None
    assert_well_formed(result.bids)
    # Five later slots add 7.875 kWh; the missing 125 Wh (139 Wh at the meter) must come now,
    # whatever the price: at retail, where the grid always serves it.
    assert price_taker_energies(result.bids, 40)["ev"] == 139
    assert price_taker_energies(result.bids, 8)["ev"] >= 139


def test_island_mode_makes_no_bids() -> None:
    assert plan(request([20, 20], island=True)).bids is None


def test_a_step_limit_merges_only_within_one_device() -> None:
    # 20 battery actions at 20 different prices: more than the 16 steps a side may have.
    found = [Reservation("battery", "buy", float(p), 0.1, 0.0) for p in range(9, 29)]
    bids = bidding.build_bids(found, 0, 30.0, feed_in=8, retail=40)
    assert len(bids.buy) <= 16
    assert {s.asset for s in bids.buy} == {"battery"}
    assert sum(s.energy_wh for s in bids.buy) == 2_000
    assert price_taker_energies(bids, 30)["battery"] == 0
    assert price_taker_energies(bids, 8)["battery"] == 2_000


def test_scaling_a_bid_to_a_shorter_interval_never_grows_a_device() -> None:
    bids = BidCurves(
        buy=(BidStep(22, 412, "battery"), BidStep(15, 1_250, "battery")),
        sell=(),
        baseline={"battery": -412},
    )
    short = bids.scaled(30 / 900)
    assert price_taker_energies(short, 13)["battery"] <= 1_250 * 30 // 900
    assert price_taker_energies(short, 25)["battery"] == -13
