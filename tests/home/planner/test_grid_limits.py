"""The planner respects a known grid limit (dimming): the hub's limit for the coming slots is a
PlanRequest input (`grid_limits`, one per slot from the start) that lowers the connection limit
there, for import and for export; the bid for slot 0 stays within it."""

from __future__ import annotations

from gridcoop_home.planner import plan
from gridcoop_home.protocol.grid_limit import GridLimit

from tests.home.planner.factory import battery, hourly, request, slot_of
from tests.home.planner.test_battery_and_ev import ev

CHEAP_FIRST_HOUR = [10] + [30] * 7


def test_a_dimmed_first_hour_holds_the_ev_and_battery_within_the_limit() -> None:
    dimmed = [GridLimit(import_w=4200)] * 4  # the first hour
    free = plan(request(CHEAP_FIRST_HOUR, ev=ev(), battery=battery()))
    held = plan(request(CHEAP_FIRST_HOUR, ev=ev(), battery=battery(), grid_limits=dimmed))

    assert max(free.schedule.grid_import_w[: slot_of(1)]) > 4200  # cheap: everything charges
    assert max(held.schedule.grid_import_w[: slot_of(1)]) <= 4200 + 1e-6
    assert max(held.schedule.grid_import_w[slot_of(1) :]) > 4200  # after it, the site's limit
    assert held.bids is not None
    assert sum(s.energy_wh for s in held.bids.buy) <= 4200 // 4  # Wh in the 15-minute slot


def test_an_export_limit_caps_what_the_plan_sells() -> None:
    pv = hourly([8_000] * 4)
    held = plan(request([20] * 4, pv_forecast_w=pv, grid_limits=[GridLimit(export_w=2000)] * 16))

    assert max(held.schedule.grid_export_w) <= 2000 + 1e-6
    assert held.bids is not None
    assert sum(s.energy_wh for s in held.bids.sell) <= 500


def test_no_known_limit_plans_as_before() -> None:
    plain = plan(request(CHEAP_FIRST_HOUR, ev=ev()))
    unlimited = plan(request(CHEAP_FIRST_HOUR, ev=ev(), grid_limits=[None, GridLimit()]))

    assert plain.schedule.grid_import_w == unlimited.schedule.grid_import_w
