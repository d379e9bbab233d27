"""The reading backlog during a hub outage: each meter keeps its own newest readings."""

from __future__ import annotations

import logging
from collections import Counter
from types import MappingProxyType
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.gridcoop import metering
from custom_components.gridcoop.const import BATTERY, EV_CHARGER, GRID_METER, PV
from custom_components.gridcoop.devices import DeviceConfig
from custom_components.gridcoop.metering import MAX_BACKLOG, Metering
from custom_components.gridcoop.sources import DeviceSnapshot

from .common import METER_KEYS

DEVICES = {
    f"sub-{kind}": DeviceConfig(f"sub-{kind}", kind, kind, MappingProxyType({}))
    for kind in (GRID_METER, PV, BATTERY, EV_CHARGER)
}
WEEK_OF_MINUTES = 7 * 24 * 60  # the hub accepts backlog up to 7 days old


def _metering(hass: HomeAssistant) -> Metering:
    return Metering(hass, "entry", {kind: key.to_text() for kind, key in METER_KEYS.items()})


def _sample(meter: Metering, minute: int, devices: dict[str, DeviceConfig] = DEVICES) -> None:
    snapshots = {sub: DeviceSnapshot(import_wh=1000.0 + minute, export_wh=0.0) for sub in devices}
    meter.sample(devices, snapshots)


def _per_meter(meter: Metering) -> Counter[str]:
    kind_of = {key.key_id: kind for kind, key in METER_KEYS.items()}
    return Counter(kind_of[item["key_id"]] for item in meter.backlog)


def _minutes(meter: Metering, kind: str) -> list[int]:
    """The minutes a meter's queued readings were taken at: its counter moves 1 Wh a minute."""
    key_id = METER_KEYS[kind].key_id
    return [item["body"]["import_wh"] for item in meter.backlog if item["key_id"] == key_id]


async def test_a_four_meter_home_keeps_a_whole_week_of_minute_readings(
    hass: HomeAssistant,
) -> None:
    assert MAX_BACKLOG >= WEEK_OF_MINUTES
    meter = _metering(hass)
    for minute in range(WEEK_OF_MINUTES):
        _sample(meter, minute)
    assert _per_meter(meter) == dict.fromkeys(METER_KEYS, WEEK_OF_MINUTES)


async def test_a_meter_keeps_20000_readings_and_drops_its_oldest_beyond(
    hass: HomeAssistant,
) -> None:
    meter = _metering(hass)
    grid_only = {"sub-grid_meter": DEVICES["sub-grid_meter"]}
    for minute in range(20_000):
        _sample(meter, minute, grid_only)
    assert _per_meter(meter) == {"grid": 20_000}
    assert _minutes(meter, "grid")[0] == 0, "nothing dropped at the limit itself"
    _sample(meter, 20_000, grid_only)
    assert _per_meter(meter) == {"grid": 20_000}
    assert _minutes(meter, "grid")[0] == 1, "the oldest went"


async def test_each_meter_keeps_its_newest_readings_up_to_the_cap(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(metering, "MAX_BACKLOG", 10)
    meter = _metering(hass)
    for minute in range(15):
        _sample(meter, minute)
    assert _per_meter(meter) == dict.fromkeys(METER_KEYS, 10)
    for kind in METER_KEYS:
        assert _minutes(meter, kind) == list(range(5, 15)), "its newest ten, oldest first"
    # Dropping is named per meter, once per outage, not at every sample.
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for kind in METER_KEYS:
        assert sum(f"the {kind} meter" in message for message in warned) == 1, warned


async def test_a_busy_meter_never_costs_a_quiet_meter_its_readings(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metering, "MAX_BACKLOG", 10)
    meter = _metering(hass)
    grid_only = {"sub-grid_meter": DEVICES["sub-grid_meter"]}
    for minute in range(8):
        _sample(meter, minute)  # all four meters: 8 readings each
    for minute in range(8, 30):
        _sample(meter, minute, grid_only)  # the grid meter alone goes on
    assert _per_meter(meter) == {"grid": 10, "pv": 8, "battery": 8, "ev": 8}
