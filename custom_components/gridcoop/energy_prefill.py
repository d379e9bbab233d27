"""Device defaults from the Energy dashboard: the grid meter, solar and battery sensors the owner
already configured there, offered pre-filled when a device is added.

Only entities are offered (an external statistic such as "tibber:energy_consumption_home" has
no state to read), and a source whose sensors another device of this home already uses is
skipped, so adding a second battery offers the second one. A battery's power sensor is not
offered: the Energy dashboard counts discharge as positive, GridCoop counts charge as positive.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gridcoop_home.sources import EnergyPreferencesError, Statistic, parse_energy_preferences
from homeassistant.components.energy.data import async_get_manager
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant

from .const import (
    BATTERY,
    CONF_CAPACITY_KWH,
    CONF_EXPORT_ENERGY_ENTITY,
    CONF_IMPORT_ENERGY_ENTITY,
    CONF_POWER_ENTITY,
    CONF_SOC_ENTITY,
    GRID_METER,
    LOGGER,
    PV,
)


def _entity(stat: Statistic | None) -> str | None:
    return stat.id if stat is not None and stat.is_entity else None


async def async_energy_defaults(
    hass: HomeAssistant, kind: str, used: Collection[str]
) -> dict[str, Any]:
    """Form defaults for a new device of `kind`; {} when the Energy dashboard has none."""
    manager = await async_get_manager(hass)
    try:
        setup = parse_energy_preferences(manager.data)
    except EnergyPreferencesError as err:
        LOGGER.debug("Energy dashboard preferences not usable for defaults: %s", err)
        return {}
    candidates: list[dict[str, Any]] = []
    if kind == GRID_METER:
        candidates = [
            {
                CONF_NAME: grid.name,
                CONF_IMPORT_ENERGY_ENTITY: _entity(grid.energy_import),
                CONF_EXPORT_ENERGY_ENTITY: _entity(grid.energy_export),
                CONF_POWER_ENTITY: _entity(grid.power.net) if grid.power else None,
            }
            for grid in setup.grids
        ]
    elif kind == PV:
        candidates = [
            {
                CONF_NAME: solar.name,
                CONF_EXPORT_ENERGY_ENTITY: _entity(solar.energy),
                CONF_POWER_ENTITY: _entity(solar.power),
            }
            for solar in setup.solar
        ]
    elif kind == BATTERY:
        candidates = [
            {
                CONF_NAME: battery.name,
                CONF_IMPORT_ENERGY_ENTITY: _entity(battery.energy_in),
                CONF_EXPORT_ENERGY_ENTITY: _entity(battery.energy_out),
                CONF_SOC_ENTITY: _entity(battery.soc),
                CONF_CAPACITY_KWH: battery.capacity_kwh,
            }
            for battery in setup.batteries
        ]
    for candidate in candidates:
        filled = {key: value for key, value in candidate.items() if value is not None}
        entities = {v for k, v in filled.items() if k.endswith("_entity")}
        if entities and not entities & set(used):
            return filled
    return {}
