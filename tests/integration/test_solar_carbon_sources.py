"""The Energy dashboard's solar forecasts and a carbon-intensity sensor feed the plan."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from unittest.mock import Mock, patch

import pytest
from gridcoop_home.planner.clearsky import clear_sky_pv_w
from gridcoop_home.planner.forecast import DEFAULT_PV_YIELD_RATIO
from homeassistant.components.energy.data import async_get_manager
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.gridcoop.const import DOMAIN, OPT_CARBON_ENTITY
from custom_components.gridcoop.planning import build_request

from .common import GRID_SUB, NOW, PV_SUB, island_entry, set_source_states, setup_entry

MIDNIGHT = NOW.replace(hour=0, minute=0)
CO2 = "sensor.co2_intensity"


def forecast_solar(
    hass: HomeAssistant, wh_hours: dict[str, float] | Exception | None
) -> MockConfigEntry:
    """A loaded Forecast.Solar entry whose Energy platform answers `wh_hours` (or raises it)."""
    mock_integration(hass, MockModule("forecast_solar"))

    async def get_forecast(hass: HomeAssistant, entry_id: str) -> dict[str, Any] | None:
        if isinstance(wh_hours, Exception):
            raise wh_hours
        return None if wh_hours is None else {"wh_hours": wh_hours}

    mock_platform(hass, "forecast_solar.energy", Mock(async_get_solar_forecast=get_forecast))
    entry = MockConfigEntry(domain="forecast_solar", title="Roof south")
    entry.add_to_hass(hass)
    hass.config.components.add("forecast_solar")
    return entry


async def energy_solar(hass: HomeAssistant, *forecast_entries: str) -> None:
    manager = await async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "solar",
                    "stat_energy_from": "sensor.pv_energy",
                    "config_entry_solar_forecast": list(forecast_entries),
                }
            ]
        }
    )


def today_hourly(wh: float) -> dict[str, float]:
    """Forecast.Solar keys each hour's energy by the hour's end: 05:00 .. 19:00 UTC."""
    return {(MIDNIGHT + timedelta(hours=h)).isoformat(): wh for h in range(5, 20)}


async def plan_with(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    with patch("custom_components.gridcoop.loop.build_request", wraps=build_request) as build:
        await setup_entry(hass, entry)
    return dict(build.call_args.kwargs)


async def test_forecast_solar_through_the_energy_dashboard_is_the_pv_forecast(
    hass: HomeAssistant, frozen: Any
) -> None:
    set_source_states(hass)
    solar = forecast_solar(hass, today_hourly(2000))
    await energy_solar(hass, solar.entry_id)
    entry = island_entry([PV_SUB])
    request = await plan_with(hass, entry)
    pv = request["pv_forecast_w"]
    assert pv[0] == pytest.approx(2000)  # 10:00-10:15 lies in the hour that ends at 11:00
    assert pv[35] == pytest.approx(2000)  # 18:45
    # 20:00 UTC, past the forecast: the clear-sky model times the default yield.
    lat, lon = hass.config.latitude, hass.config.longitude
    model = clear_sky_pv_w(lat, lon, 6000, NOW.replace(hour=20, minute=7, second=30))
    assert pv[40] == pytest.approx(model * DEFAULT_PV_YIELD_RATIO)
    plan = entry.runtime_data.home.data.plan
    assert any("solar forecast covers" in w for w in plan.warnings)
    assert not any("clear-sky model x" in w for w in plan.warnings)


async def test_without_a_pv_device_or_forecast_the_planner_keeps_its_model(
    hass: HomeAssistant, frozen: Any
) -> None:
    set_source_states(hass)
    solar = forecast_solar(hass, today_hourly(2000))
    await energy_solar(hass, solar.entry_id)
    assert (await plan_with(hass, island_entry([GRID_SUB])))["pv_forecast_w"] is None


async def test_a_forecast_without_data_or_malformed_falls_back_with_a_warning(
    hass: HomeAssistant, frozen: Any
) -> None:
    set_source_states(hass)
    empty = forecast_solar(hass, None)
    await energy_solar(hass, empty.entry_id, "not-an-entry")
    entry = island_entry([PV_SUB])
    request = await plan_with(hass, entry)
    assert request["pv_forecast_w"] is None
    warnings = entry.runtime_data.home.data.plan.warnings
    assert any("has no data yet" in w for w in warnings)
    assert any("not-an-entry of the Energy dashboard is not loaded" in w for w in warnings)
    assert any("clear-sky model" in w for w in warnings)


async def test_a_failing_forecast_integration_does_not_stop_planning(
    hass: HomeAssistant, frozen: Any
) -> None:
    set_source_states(hass)
    failing = forecast_solar(hass, RuntimeError("api down"))
    await energy_solar(hass, failing.entry_id)
    entry = island_entry([PV_SUB])
    assert (await plan_with(hass, entry))["pv_forecast_w"] is None
    assert any("has no data yet" in w for w in entry.runtime_data.home.data.plan.warnings)


async def test_a_malformed_forecast_is_a_warning(hass: HomeAssistant, frozen: Any) -> None:
    set_source_states(hass)
    broken = forecast_solar(hass, {"tomorrow at noon": 100})
    await energy_solar(hass, broken.entry_id)
    entry = island_entry([PV_SUB])
    assert (await plan_with(hass, entry))["pv_forecast_w"] is None
    warnings = entry.runtime_data.home.data.plan.warnings
    assert any("solar forecast of the Energy dashboard not readable" in w for w in warnings)


# -- carbon ------------------------------------------------------------------------------------


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


async def test_carbon_sensor_history_gives_the_min_carbon_profile_its_hours(
    hass: HomeAssistant, recorder_mock: Any, freezer: Any
) -> None:
    # The last day, one reading an hour: about 100 g/kWh, about 400 from 12:00 to 18:00 UTC
    # (alternating by 1 so every reading is a change the recorder keeps).
    hour = NOW.replace(minute=0) - timedelta(days=1)
    while hour < NOW:
        value = (400 if 12 <= hour.hour < 18 else 100) + hour.hour % 2
        freezer.move_to(hour)
        hass.states.async_set(CO2, str(value), {"unit_of_measurement": "gCO2eq/kWh"})
        await hass.async_block_till_done()
        hour += timedelta(hours=1)
    freezer.move_to(NOW)
    hass.states.async_set(CO2, "250", {"unit_of_measurement": "gCO2eq/kWh"})
    await async_wait_recording_done(hass)
    entry = island_entry(**{OPT_CARBON_ENTITY: CO2})
    carbon = (await plan_with(hass, entry))["carbon_g_per_kwh"]
    assert carbon[0] == 250  # now
    assert carbon[4] == 101  # 11:00: yesterday's 11:00 hour
    assert carbon[8] == 400  # 12:00
    assert carbon[32] == 100  # 18:00
    assert entry.runtime_data.home.data.plan.expected_carbon_g is not None


async def test_a_missing_carbon_sensor_is_a_repair(hass: HomeAssistant, frozen: Any) -> None:
    entry = island_entry(**{OPT_CARBON_ENTITY: CO2})
    assert (await plan_with(hass, entry))["carbon_g_per_kwh"] is None
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"input_invalid_{entry.entry_id}_{CO2}")
    assert issue is not None and issue.translation_key == "input_entity_invalid"
    hass.states.async_set(CO2, "120")
    entry.runtime_data.loop.request_replan()
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"input_invalid_{entry.entry_id}_{CO2}") is None
    )
    # No recorder here: only the current value, for every slot, with a warning.
    assert any(
        "no carbon-intensity history" in w for w in entry.runtime_data.home.data.plan.warnings
    )
