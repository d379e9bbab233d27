"""The household's base load from Home Assistant's long-term statistics, for the planner.

Base load = what the house used that no planned device explains:
grid import - grid export + PV produced + battery discharged - battery charged - EV charged,
per hour from the recorder's hourly statistics ("change" of each energy counter), over the last
four weeks. The planner (gridcoop_home.planner.forecast) turns these samples into same-weekday
profiles,
falling back to a mean daily profile and then to a flat value while history is short.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from gridcoop_home.planner.forecast import HISTORY_WEEKS
from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .const import (
    BATTERY,
    CONF_EXPORT_ENERGY_ENTITY,
    CONF_IMPORT_ENERGY_ENTITY,
    DOMAIN,
    EV_CHARGER,
    GRID_METER,
    LOGGER,
    PV,
)
from .devices import DeviceConfig

QUARTERS = (0, 15, 30, 45)
# Per device kind: (entity field, Modbus sensor key, sign in the household balance)
COUNTERS: dict[str, tuple[tuple[str, str, int], ...]] = {
    GRID_METER: (
        (CONF_IMPORT_ENERGY_ENTITY, "energy_imported", 1),
        (CONF_EXPORT_ENERGY_ENTITY, "energy_exported", -1),
    ),
    PV: ((CONF_EXPORT_ENERGY_ENTITY, "energy_produced", 1),),
    BATTERY: ((CONF_EXPORT_ENERGY_ENTITY, "", 1), (CONF_IMPORT_ENERGY_ENTITY, "", -1)),
    EV_CHARGER: ((CONF_IMPORT_ENERGY_ENTITY, "", -1),),
}

Samples = tuple[tuple[datetime, float], ...]


def energy_counters(
    hass: HomeAssistant, devices: Mapping[str, DeviceConfig]
) -> tuple[dict[str, int], set[str]]:
    """Statistic ids with their sign, and which of them are grid imports (required)."""
    registry = er.async_get(hass)
    signs: dict[str, int] = {}
    grid: set[str] = set()
    for device in devices.values():
        for field, modbus_key, sign in COUNTERS.get(device.kind, ()):
            if device.is_modbus:
                entity_id = modbus_key and registry.async_get_entity_id(
                    "sensor", DOMAIN, f"{device.subentry_id}_{modbus_key}"
                )
            else:
                entity_id = device.data.get(field)
            if not entity_id:
                continue
            signs[entity_id] = signs.get(entity_id, 0) + sign
            if device.kind == GRID_METER and sign > 0:
                grid.add(entity_id)
    return signs, grid


def base_load_samples(
    rows: Mapping[str, list[Mapping[str, Any]]], signs: Mapping[str, int], grid: set[str]
) -> Samples:
    """Hourly energy changes -> one (slot start, W) sample per 15 minutes of each full hour."""
    per_hour: dict[float, float] = defaultdict(float)
    metered: set[float] = set()
    for statistic_id, hours in rows.items():
        sign = signs.get(statistic_id, 0)
        for row in hours:
            change = row.get("change")
            if change is None:
                continue
            per_hour[row["start"]] += sign * float(change)
            if statistic_id in grid:
                metered.add(row["start"])
    samples: list[tuple[datetime, float]] = []
    for start in sorted(metered):
        watts = max(per_hour[start], 0.0)  # Wh in one hour = mean W
        hour = dt_util.utc_from_timestamp(start)
        samples.extend((hour + timedelta(minutes=m), watts) for m in QUARTERS)
    return tuple(samples)


async def async_base_load_history(
    hass: HomeAssistant, devices: Mapping[str, DeviceConfig], now: datetime
) -> Samples:
    """The last four weeks of base load, or () without a recorder or a grid meter."""
    if "recorder" not in hass.config.components:
        return ()
    signs, grid = energy_counters(hass, devices)
    if not grid:
        return ()
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(weeks=HISTORY_WEEKS)
    try:
        rows = await get_instance(hass).async_add_executor_job(
            statistics_during_period,
            hass,
            start,
            end,
            set(signs),
            "hour",
            {"energy": UnitOfEnergy.WATT_HOUR},
            {"change"},
        )
    except Exception as err:  # a recorder problem must never stop planning
        LOGGER.warning("Base-load history not available from the recorder: %s", err)
        return ()
    return base_load_samples(rows, signs, grid)
