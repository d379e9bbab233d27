"""A home's battery in one slot: with a plan (world B) it absorbs forecast errors only where that
keeps energy at home; with a market allocation (world C) it tracks the allocation."""

from __future__ import annotations

import numpy as np

from hub.sim.devices import Command, DeviceState, HomeInputs, step
from hub.sim.population import BatterySpec, HomeSpec

HOME = HomeSpec(
    index=0,
    home_id="0" * 16,
    annual_kwh=3500.0,
    pv_peak_w=8000.0,
    pv_tilt=30.0,
    pv_azimuth=180.0,
    battery=BatterySpec(capacity_wh=10_000.0, power_w=5_000.0, wear_per_kwh=2.0),
    ev=None,
    water_heater=False,
    retires_green=False,
)


def slot(base_wh: float, pv_wh: float) -> HomeInputs:
    """One slot of what the home does whatever it decides (W = 4 x Wh in a 15-minute slot)."""
    return HomeInputs(
        base_forecast_w=np.array([4 * base_wh]),
        base_w=np.array([4 * base_wh]),
        pv_forecast_w=np.array([4 * pv_wh]),
        pv_w=np.array([4 * pv_wh]),
        jobs=[],
        sessions=[],
    )


def run(inputs: HomeInputs, command: Command, soc_wh: float = 5_000.0) -> tuple[int, int, int]:
    """(charge, discharge, net grid flow) in Wh."""
    flows = step(HOME, inputs, DeviceState(soc_wh, 0.0), 0, command)
    return flows.charge_wh, flows.discharge_wh, flows.net_wh


def test_a_planned_export_that_a_cloud_cuts_short_is_not_made_up_from_the_battery() -> None:
    # The plan expected 900 Wh of PV against 100 Wh of load and so an export of 800 Wh; only
    # 300 Wh came. Selling stored energy at feed-in to keep the export up would be a loss.
    command = Command(target_net_wh=-800.0, planned_battery_wh=(0.0, 0.0))
    assert run(slot(base_wh=100, pv_wh=300), command) == (0, 0, -200)


def test_a_deficit_the_plan_did_not_expect_is_still_covered_from_the_battery() -> None:
    command = Command(target_net_wh=0.0, planned_battery_wh=(0.0, 150.0))
    assert run(slot(base_wh=400, pv_wh=0), command) == (0, 400, 0)


def test_a_surplus_beyond_the_plan_is_still_stored() -> None:
    command = Command(target_net_wh=-100.0, planned_battery_wh=(0.0, 0.0))
    assert run(slot(base_wh=100, pv_wh=700), command) == (500, 0, -100)


def test_the_battery_is_not_charged_from_the_grid_unless_the_plan_says_so() -> None:
    # The plan expected 500 Wh of load and no PV, so an import of 500 Wh; the load was 200 Wh.
    unplanned = Command(target_net_wh=500.0, planned_battery_wh=(0.0, 0.0))
    assert run(slot(base_wh=200, pv_wh=0), unplanned) == (0, 0, 200)
    planned = Command(target_net_wh=800.0, planned_battery_wh=(300.0, 0.0))
    assert run(slot(base_wh=500, pv_wh=0), planned) == (300, 0, 800)


def test_a_planned_discharge_into_the_grid_is_made() -> None:
    command = Command(target_net_wh=-600.0, planned_battery_wh=(0.0, 700.0))
    assert run(slot(base_wh=100, pv_wh=0), command) == (0, 700, -600)


def test_without_a_plan_the_battery_tracks_the_allocation_within_its_limits() -> None:
    # World C: the home sold 800 Wh; delivering it from the battery avoids paying retail for
    # the shortfall.
    assert run(slot(base_wh=100, pv_wh=300), Command(target_net_wh=-800.0)) == (0, 600, -800)
    assert run(slot(base_wh=100, pv_wh=0), Command(target_net_wh=-8000.0)) == (0, 1250, -1150)
