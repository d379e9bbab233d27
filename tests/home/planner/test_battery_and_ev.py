"""Battery arbitrage and EV deadlines."""

from __future__ import annotations

from gridcoop_home.planner import EV, plan

from tests.home.planner.factory import at, battery, hourly, request, slot_of

# 3 cheap night hours (too few to fill the battery, so every one is used), 15 ordinary,
# 4 expensive evening hours, 2 ordinary.
NIGHT_DAY_EVENING = [8] * 3 + [20] * 15 + [35] * 4 + [20] * 2


def test_cheap_night_charges_battery_and_expensive_evening_discharges_it() -> None:
    result = plan(request(NIGHT_DAY_EVENING, battery=battery()))
    s = result.schedule
    night = range(slot_of(0), slot_of(3))
    evening = range(slot_of(18), slot_of(22))
    assert sum(s.battery_charge_w[t] for t in night) > 0
    assert sum(s.battery_discharge_w[t] for t in night) == 0
    assert sum(s.battery_discharge_w[t] for t in evening) > 0
    assert sum(s.battery_charge_w[t] for t in evening) == 0
    assert result.explanations[0].startswith("charging the battery now: 8 c/kWh now vs 35")


def test_battery_stays_idle_when_spread_does_not_cover_losses_and_wear() -> None:
    # 20 -> 22 c/kWh is less than round-trip losses (~10 %) plus 2 c/kWh wear.
    result = plan(request([20] * 6 + [22] * 6, battery=battery()))
    assert max(result.schedule.battery_charge_w) < 1


def test_battery_starting_below_reserve_is_reported_not_infeasible() -> None:
    result = plan(request([20] * 4, battery=battery(soc_wh=0, max_charge_w=500)))
    limits = {v.limit: v for v in result.violations}
    assert "below its 1000 Wh reserve" in limits["battery_reserve"].reason


def ev(**changes: object) -> EV:
    fields: dict[str, object] = {
        "capacity_wh": 60_000,
        "soc_wh": 10_000,
        "target_wh": 30_000,
        "departure": at(7),
        "max_charge_w": 7_400,
    }
    fields.update(changes)
    return EV(**fields)  # type: ignore[arg-type]


def test_ev_reaches_target_by_departure_using_the_cheapest_hours() -> None:
    prices = [30, 30, 10, 10, 10, 30, 30, 30]
    result = plan(request(prices, ev=ev()))
    s = result.schedule
    departure = slot_of(7)
    assert s.ev_soc_wh[departure - 1] >= 30_000 - 1
    assert sum(s.ev_charge_w[slot_of(7) :]) == 0  # nothing after it left
    assert not result.violations
    # 20 kWh / 0.9 at 7.4 kW needs ~3 h: exactly the three 10 c/kWh hours.
    assert min(s.ev_charge_w[slot_of(2) : slot_of(5)]) > 7_000


def test_ev_shortfall_is_reported_with_its_cause_when_physically_impossible() -> None:
    result = plan(request([20] * 8, ev=ev(departure=at(1), target_wh=60_000)))
    (violation,) = result.violations
    assert violation.limit == "ev_target"
    assert "at most" in violation.reason
    # One hour at 7.4 kW and 90 % efficiency adds 6.66 kWh; the rest is short.
    assert abs(violation.amount_wh - (60_000 - 10_000 - 6_660)) < 5


def test_ev_shortfall_from_grid_limit_names_the_limit() -> None:
    result = plan(
        request(
            [20] * 5,
            # The charger alone could add 26.6 kWh in 4 h; the 3 kW left under the limit only 10.8.
            ev=ev(departure=at(4), target_wh=30_000),
            base_load_forecast_w=hourly([3_000] * 5),
            site=request([20]).site.__class__(grid_limit_w=6_000),
        )
    )
    (violation,) = result.violations
    assert violation.limit == "ev_target"
    assert "grid connection limit" in violation.reason


def test_base_load_above_grid_limit_is_reported_as_violation() -> None:
    result = plan(
        request(
            [20] * 2,
            base_load_forecast_w=hourly([9_000, 300]),
            site=request([20]).site.__class__(grid_limit_w=8_000),
        )
    )
    (violation,) = result.violations
    assert violation.limit == "grid_limit"
    assert abs(violation.amount_wh - 1_000) < 1
