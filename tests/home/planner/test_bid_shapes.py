"""Bids by known answer: whole curves (steps, tags and baselines) for small cases worked by hand.

Each case is checked against the reservation model of tests/home/planner/reference.py as well,
and states the one choice the model leaves open: which device a step is tagged with where
several switch at one price (which one a rationed, marginal step slows down).
"""

from __future__ import annotations

import math

from gridcoop_home.planner.bidding import build_bids
from gridcoop_home.planner.reservation import Reservation
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.dispatch import GridPrices, device_energies

from tests.home.planner.reference import Model, assert_whole_curve


def idle(asset: str, price: float, kwh: float, side: str = "buy") -> Reservation:
    return Reservation(asset, "buy" if side == "buy" else "sell", price, kwh, 0.0)


def test_an_idle_battery_tied_with_the_expected_price_buys_below_it() -> None:
    # Charging is worth exactly the expected 30 c/kWh and the plan leaves the battery idle: it
    # buys 750 Wh at 29 (below, where the plan would charge too), never at 30, and never sells.
    found = [idle("battery", 30.0, 0.75)]

    bids = build_bids(found, 0, 30.0, feed_in=8, retail=40)

    assert bids == BidCurves(buy=(BidStep(29, 750, "battery"),), sell=(), baseline={"battery": 0})
    assert_whole_curve(bids, Model(found, 30, 8, 40), 0, 0)


def test_two_loads_that_straddle_zero_each_stay_on_one_side() -> None:
    # 325 Wh of PV surplus; a 325 Wh and a 125 Wh load worth 2.99 c/kWh, expected 3. At 2 the home
    # buys 125 Wh net, at 3 it sells 325 Wh. The small load is the buy, the large one the sale:
    # cut 125 + 200 Wh, the large load would run on 200 Wh when the buy step is rationed.
    found = [idle("load:big", 2.99, 0.325), idle("load:small", 2.99, 0.125)]

    bids = build_bids(found, -325, 3.0, feed_in=2, retail=25)

    assert bids == BidCurves(
        buy=(BidStep(2, 125, "load:small"),),
        sell=(BidStep(3, 325, "load:big"),),
        baseline={"load:big": 325, "load:small": 0},
    )
    assert_whole_curve(bids, Model(found, 3, 2, 25), -325, 0)
    # Rationed at 2 (100 of the 125 Wh): the small load defers (its value, 2.5 c, is below 6.6 c,
    # the share at feed-in and the rest at retail); the large one runs whole on the surplus.
    energies = device_energies(bids, [100], [0], GridPrices(retail=25, feed_in=2))
    assert {d: e.energy_wh for d, e in energies.items()} == {"load:big": 325, "load:small": 0}


def test_where_the_battery_and_the_ev_straddle_zero_the_battery_buys_first() -> None:
    # 500 Wh of surplus at the expected 20; below it the battery (750 Wh) and the EV (1,000 Wh)
    # both charge: 1,250 Wh bought at 19, 500 Wh sold at 20. In tag order the battery's energy is
    # the buy step first; the EV takes the rest and the sale: an unsold surplus charges the EV.
    found = [idle("battery", 25.0, 0.75), idle("ev", 30.0, 1.0)]

    bids = build_bids(found, -500, 20.0, feed_in=8, retail=40)

    assert bids == BidCurves(
        buy=(BidStep(19, 750, "battery"), BidStep(19, 500, "ev")),
        sell=(BidStep(20, 500, "ev"),),
        baseline={"battery": 0, "ev": 500},
    )
    assert_whole_curve(bids, Model(found, 20, 8, 40), -500, 0)


def test_the_connection_limit_cuts_the_battery_before_a_load_and_a_load_whole() -> None:
    # A 6 kW sauna runs (1,500 Wh); the battery (750 Wh) and a washer (500 Wh) both start at
    # 20 c/kWh or less. On 11 kW (2,750 Wh) 250 Wh must go: from the battery, not the washer.
    found = [
        idle("battery", 20.0, 0.75),
        idle("load:washer", 20.0, 0.5),
        Reservation("load:sauna", "buy", math.inf, 1.5, 1.5),
    ]

    bids = build_bids(found, 1_500, 30.0, feed_in=8, retail=40, grid_limit_wh=2_500)

    assert bids.buy == (
        BidStep(40, 1_500, "load:sauna"),
        BidStep(20, 500, "battery"),
        BidStep(20, 500, "load:washer"),
    )
    # On 7.6 kW (1,900 Wh) the battery's 750 Wh are not enough: the washer goes, all of it.
    tight = build_bids(found, 1_500, 30.0, feed_in=8, retail=40, grid_limit_wh=1_900)
    assert tight.buy == (BidStep(40, 1_500, "load:sauna"),)


def test_a_battery_discharging_into_the_house_stops_then_charges_as_power_gets_cheaper() -> None:
    # The plan discharges 412 Wh into the house at the expected 25; the battery would stop
    # discharging below 22 and charge its 1,250 Wh below 15. Both steps are the battery's buys.
    found = [
        Reservation("battery", "sell", 22.0, most_kwh=1.25, planned_kwh=0.412),
        idle("battery", 15.0, 1.25),
    ]

    bids = build_bids(found, 0, 25.0, feed_in=8, retail=30)

    assert bids == BidCurves(
        buy=(BidStep(21, 412, "battery"), BidStep(15, 1_250, "battery")),
        sell=(),
        baseline={"battery": -412},
    )
    assert_whole_curve(bids, Model(found, 25, 8, 30), 0, 0)
