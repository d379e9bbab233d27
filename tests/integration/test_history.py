"""Base load from the recorder's hourly statistics: what the house used beyond its devices."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.gridcoop.const import DOMAIN
from custom_components.gridcoop.devices import devices_of
from custom_components.gridcoop.history import (
    async_base_load_history,
    base_load_samples,
    energy_counters,
)

from .common import (
    BATTERY_SUB,
    GRID_SUB,
    NOW,
    PV_SUB,
    FakeHub,
    hub_entry,
    set_source_states,
    setup_entry,
    subentry,
)

WEEKS = 3


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's fixtures must be set up before Home Assistant's (the plugin's rule)."""
    # The test recorder echoes SQL at INFO from its own thread, past pytest's log capture.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def _import(hass: HomeAssistant, statistic_id: str, per_hour_kwh: Any) -> None:
    """Hourly sums for the last WEEKS weeks; per_hour_kwh(hour start) -> kWh in that hour."""
    end = NOW.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(weeks=WEEKS)
    total, rows = 0.0, []
    hour = start
    while hour < end:
        total += per_hour_kwh(hour)
        rows.append({"start": hour, "sum": total, "state": total})
        hour += timedelta(hours=1)
    async_import_statistics(
        hass,
        {
            "mean_type": StatisticMeanType.NONE,
            "has_sum": True,
            "name": None,
            "source": "recorder",
            "statistic_id": statistic_id,
            "unit_class": "energy",
            "unit_of_measurement": "kWh",
        },
        rows,
    )


def _evening_peak(hour: datetime) -> float:
    return 2.5 if hour.weekday() == 0 and hour.hour == 18 else 0.5


async def test_base_load_comes_from_the_recorder(
    recorder_mock: Recorder, hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    _import(hass, "sensor.grid_import", _evening_peak)
    _import(hass, "sensor.grid_export", lambda h: 0.0)
    _import(hass, "sensor.pv_energy", lambda h: 0.25 if 10 <= h.hour < 16 else 0.0)
    _import(hass, "sensor.battery_in", lambda h: 0.25 if 10 <= h.hour < 16 else 0.0)
    _import(hass, "sensor.battery_out", lambda h: 0.0)
    await async_wait_recording_done(hass)
    set_source_states(hass)
    entry = hub_entry([GRID_SUB, PV_SUB, BATTERY_SUB])
    await setup_entry(hass, entry)
    devices = entry.runtime_data.devices

    samples = await async_base_load_history(hass, devices, dt_util.utcnow())
    assert len(samples) == WEEKS * 7 * 24 * 4
    by_time = dict(samples)
    monday = datetime(2026, 5, 25, 18, 0, tzinfo=dt_util.UTC)
    # Grid import + PV produced - battery charged: the PV went into the battery.
    assert [by_time[monday + timedelta(minutes=m)] for m in (0, 15, 30, 45)] == [2500.0] * 4
    assert by_time[datetime(2026, 5, 26, 12, 0, tzinfo=dt_util.UTC)] == 500.0

    # The planner got it: no flat fallback for the base load any more.
    plan = entry.runtime_data.home.data.plan
    assert plan is not None
    assert not any("base-load history short" in w for w in plan.warnings)
    assert max(plan.schedule.base_load_w) == 2500.0


async def test_no_history_without_a_recorder_or_a_grid_meter(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry([PV_SUB])
    await setup_entry(hass, entry)
    devices = entry.runtime_data.devices
    assert await async_base_load_history(hass, devices, NOW) == ()
    plan = entry.runtime_data.home.data.plan
    assert any("base-load history short" in w for w in plan.warnings)
    with patch.dict(hass.config.components, clear=False):
        hass.config.components.add("recorder")
        assert await async_base_load_history(hass, devices, NOW) == ()  # no grid meter


async def test_a_recorder_failure_only_costs_the_history(
    recorder_mock: Recorder, hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry([GRID_SUB])
    await setup_entry(hass, entry)
    with patch(
        "custom_components.gridcoop.history.statistics_during_period",
        side_effect=RuntimeError("database is locked"),
    ):
        assert await async_base_load_history(hass, entry.runtime_data.devices, NOW) == ()


async def test_modbus_devices_count_through_their_own_energy_sensors(hass: HomeAssistant) -> None:
    registry = er.async_get(hass)
    grid = subentry("grid_meter", "Meter", "01MODBUSGRID0000000000000", source="modbus")
    battery = subentry("battery", "Battery", "01MODBUSBAT00000000000000", source="modbus")
    registry.async_get_or_create(
        "sensor", DOMAIN, "01MODBUSGRID0000000000000_energy_imported", suggested_object_id="m_in"
    )
    devices = devices_of(
        {s["subentry_id"]: _subentry(s) for s in (grid, battery)}  # type: ignore[misc]
    )
    signs, metered = energy_counters(hass, devices)
    assert signs == {"sensor.m_in": 1} and metered == {"sensor.m_in"}


def _subentry(data: Any) -> Any:
    from homeassistant.config_entries import ConfigSubentry

    return ConfigSubentry(
        data=data["data"],
        subentry_type=data["subentry_type"],
        title=data["title"],
        subentry_id=data["subentry_id"],
        unique_id=None,
    )


def test_hours_without_a_grid_reading_are_left_out() -> None:
    start = NOW.timestamp() - NOW.timestamp() % 3600
    rows = {
        "sensor.grid": [{"start": start, "change": 800.0}],
        "sensor.pv": [{"start": start, "change": 300.0}, {"start": start + 3600, "change": 50.0}],
        "sensor.ev": [{"start": start, "change": None}],
    }
    samples = base_load_samples(
        rows, {"sensor.grid": 1, "sensor.pv": 1, "sensor.ev": -1}, {"sensor.grid"}
    )
    assert [w for _, w in samples] == [1100.0] * 4
