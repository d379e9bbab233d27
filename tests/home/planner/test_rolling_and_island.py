"""Rolling horizon and island mode."""

from __future__ import annotations

import pytest
from gridcoop_home.planner import EV, Actuals, advance, dispatch_island, plan, replan
from gridcoop_home.planner.inputs import SLOT

from tests.home.planner.factory import START, at, battery, hourly, load, request


def test_advance_moves_one_slot_and_updates_device_state() -> None:
    req = request(
        [8, 30, 30, 30],
        battery=battery(soc_wh=2_000),
        ev=EV(
            capacity_wh=50_000, soc_wh=10_000, target_wh=20_000, departure=at(3), max_charge_w=7_000
        ),
        loads=(load(), load("dryer", interruptible=True)),
    )
    nxt = advance(
        req,
        Actuals(
            battery_charge_wh=750,
            ev_charged_wh=1_000,
            load_energy_wh={"dishwasher": 500, "dryer": 2_000},
        ),
    )
    assert nxt.start == START + SLOT
    assert nxt.slots == req.slots
    assert nxt.price_forecast is not None and list(nxt.price_forecast[:4]) == [8.0, 8.0, 8.0, 30.0]
    assert nxt.battery is not None and nxt.battery.soc_wh == pytest.approx(2_000 + 750 * 0.95)
    assert nxt.ev is not None and nxt.ev.soc_wh == pytest.approx(10_900)
    (dishwasher,) = nxt.loads  # the dryer finished its 2 kWh
    assert dishwasher.running and dishwasher.energy_wh == 1_500


def test_measured_state_wins_and_departed_ev_is_dropped() -> None:
    req = request([20, 20], battery=battery(), ev=EV(50_000, 10_000, 20_000, at(0.25), 7_000))
    nxt = advance(req, Actuals(battery_soc_wh=4_321, battery_charge_wh=750))
    assert nxt.battery is not None and nxt.battery.soc_wh == 4_321
    assert nxt.ev is None


def test_replan_continues_a_started_non_interruptible_load_at_once() -> None:
    # Cheap now, dear later: the dishwasher starts now; once started it must run to the end.
    req = request([10, 40, 40, 40], loads=(load(),))
    first = plan(req)
    assert first.dispatch.loads_on == ("dishwasher",)
    state = req
    for _ in range(3):
        state, result = replan(state, Actuals(load_energy_wh={"dishwasher": 500}))
        assert result.dispatch.loads_on == ("dishwasher",)
        assert result.discomfort[0].price is None  # already running: not deferrable
    state, result = replan(state, Actuals(load_energy_wh={"dishwasher": 500}))
    assert state.loads == ()


def test_island_dispatch_uses_tariffs_and_is_the_first_slot_of_the_plan() -> None:
    # A local forecast says now is cheap, but in island mode only the tariff counts.
    req = request(
        [5, 5, 5, 5],
        price_forecast=hourly([5] * 4),
        tariffs=request([5]).tariffs.__class__(retail=hourly([30, 30, 10, 10]), feed_in=[5.0] * 16),
        loads=(load(latest_finish=at(4), discomfort_per_hour=1),),
    )
    dispatch, island_plan = dispatch_island(req)
    assert island_plan.bids is None
    assert island_plan.schedule.buy_price[0] == 30
    assert dispatch.loads_on == ()  # waits for the 10 c/kWh tariff at 02:00
    assert island_plan.loads[0].start == at(2)
    assert dispatch.grid_w == pytest.approx(island_plan.schedule.grid_import_w[0])
