"""Energy a plan must take now is bid at retail; only the rest is priced by reservation.

An EV that cannot reach its departure target without some charge in the next slot, or a battery
below its reserve, has no choice about that energy: the grid serves it at retail if the market
does not. A reservation price averaged over the whole slot would hide those few Wh in a low
price, and a neighbour's cheap offer clearing a little higher would pause the EV.
"""

from __future__ import annotations

from gridcoop_home.planner import EV, Plan, Tariffs, plan
from gridcoop_home.protocol.bids import BidCurves
from gridcoop_home.protocol.dispatch import device_energies

from tests.home.planner.factory import at, battery, request


def energy_at(bids: BidCurves, device: str, price: int) -> int:
    """The device's energy when the home gets exactly what it asked for at `price`."""
    energies = device_energies(
        bids,
        [s.energy_wh if s.price >= price else 0 for s in bids.buy],
        [s.energy_wh if s.price <= price else 0 for s in bids.sell],
    )
    return energies[device].energy_wh if device in energies else 0


def ev_home(min_charge_w: float = 0.0) -> Plan:
    # 10 -> 15 kWh by +1 h on 7.4 kW x 90 %: three later slots add 4,995 Wh, so 5 Wh (6 Wh at the
    # meter) must come now. Energy costs 2 c/kWh all along; retail 25, feed-in 2.
    ev = EV(
        capacity_wh=60_000,
        soc_wh=10_000,
        target_wh=15_000,
        departure=at(1),
        max_charge_w=7_400,
        min_charge_w=min_charge_w,
        charge_efficiency=0.9,
    )
    tariffs = Tariffs(retail=[25.0] * 8, feed_in=[2.0] * 8)
    return plan(request([2, 2], tariffs=tariffs, base_load_forecast_w=[400.0] * 8, ev=ev))


def test_the_few_wh_an_ev_needs_now_for_its_deadline_are_bid_at_retail() -> None:
    result = ev_home()
    bids = result.bids
    assert bids is not None
    assert round(result.schedule.ev_charge_w[0] / 4) == 6
    assert [(s.price, s.energy_wh) for s in bids.buy if s.asset == "ev"] == [(25, 6)]
    # Whatever the market clears at, the EV takes its 6 Wh: its target is never given up.
    for price in range(2, 26):
        assert energy_at(bids, "ev", price) == 6, price


def test_an_ev_charger_with_a_minimum_power_bids_that_minimum_at_retail() -> None:
    # The 6 Wh cannot be delivered by a charger that runs at 1.4 kW or not at all: 350 Wh.
    result = ev_home(min_charge_w=1_400)
    bids = result.bids
    assert bids is not None
    must = [s for s in bids.buy if s.asset == "ev" and s.price == 25]
    assert sum(s.energy_wh for s in must) >= 350
    for price in range(2, 26):
        assert energy_at(bids, "ev", price) >= 350, price


def test_a_battery_just_below_its_reserve_buys_the_missing_energy_at_any_price() -> None:
    # 990 Wh stored, 1,000 Wh reserve: 10 Wh (11 Wh at the meter, 95 % charging) must come now.
    # Charging beyond that is worth what the stored energy saves later, about 26 c/kWh. Averaged
    # together the old bid was 11 Wh at 32 c/kWh: at 35 the battery stayed below its reserve.
    result = plan(request([30] * 4, battery=battery(soc_wh=990, reserve_wh=1_000)))
    bids = result.bids
    assert bids is not None
    assert [(s.price, s.energy_wh) for s in bids.buy if s.asset == "battery"] == [
        (40, 11),
        (26, 739),
    ]
    assert energy_at(bids, "battery", 35) == 11
    assert energy_at(bids, "battery", 40) == 11
    assert energy_at(bids, "battery", 26) == 750  # the rest of its 3 kW rating
