"""Adding a device offers the sensors the owner already configured in the Energy dashboard."""

from __future__ import annotations

from typing import Any

from homeassistant.components.energy.data import async_get_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from .common import BATTERY_SUB, island_entry, setup_entry

ENERGY = {
    "energy_sources": [
        {
            "type": "grid",
            "stat_energy_from": "sensor.grid_import",
            "stat_energy_to": "sensor.grid_export",
            "stat_cost": None,
            "entity_energy_price": None,
            "number_energy_price": None,
            "stat_compensation": None,
            "entity_energy_price_export": None,
            "number_energy_price_export": None,
            "power_config": {"stat_rate": "sensor.grid_power"},
            "cost_adjustment_day": 0,
        },
        {
            "type": "solar",
            "stat_energy_from": "sensor.pv_energy",
            "stat_rate": "sensor.pv_power",
            "config_entry_solar_forecast": None,
        },
        {  # already a device of this home (BATTERY_SUB reads these): skipped
            "type": "battery",
            "stat_energy_from": "sensor.battery_out",
            "stat_energy_to": "sensor.battery_in",
        },
        {
            "type": "battery",
            "name": "Garage battery",
            "stat_energy_from": "sensor.garage_out",
            "stat_energy_to": "sensor.garage_in",
            "stat_soc": "sensor.garage_soc",
            "capacity": 13.5,
        },
        {"type": "gas", "stat_energy_from": "sensor.gas"},
    ],
    "device_consumption": [],
}


def form_values(result: dict[str, Any]) -> dict[str, Any]:
    """What the form shows pre-filled: suggested values and defaults."""
    values = {}
    for key in result["data_schema"].schema:
        if key.description and "suggested_value" in key.description:
            values[str(key)] = key.description["suggested_value"]
        elif callable(key.default):
            values[str(key)] = key.default()
    return values


async def entities_form(hass: HomeAssistant, entry_id: str, kind: str) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry_id, kind), context={"source": "user"}
    )
    if result["type"] is FlowResultType.MENU:
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"next_step_id": "entities"}
        )
    assert result["step_id"] == "entities"
    return dict(result)


async def test_energy_dashboard_sensors_are_offered_pre_filled(
    hass: HomeAssistant, frozen: Any
) -> None:
    await (await async_get_manager(hass)).async_update(ENERGY)
    entry = island_entry([BATTERY_SUB])
    await setup_entry(hass, entry)
    grid = form_values(await entities_form(hass, entry.entry_id, "grid_meter"))
    assert grid["import_energy_entity"] == "sensor.grid_import"
    assert grid["export_energy_entity"] == "sensor.grid_export"
    assert grid["power_entity"] == "sensor.grid_power"
    pv = form_values(await entities_form(hass, entry.entry_id, "pv"))
    assert pv["export_energy_entity"] == "sensor.pv_energy"
    assert pv["power_entity"] == "sensor.pv_power"
    battery_form = await entities_form(hass, entry.entry_id, "battery")
    battery = form_values(battery_form)
    assert battery["name"] == "Garage battery"
    assert battery["soc_entity"] == "sensor.garage_soc"
    assert battery["import_energy_entity"] == "sensor.garage_in"  # charged
    assert battery["export_energy_entity"] == "sensor.garage_out"  # discharged
    assert battery["capacity_kwh"] == 13.5
    assert "power_entity" not in battery  # Energy's sign is the opposite of GridCoop's
    # Accepting the offer creates the device.
    result = await hass.config_entries.subentries.async_configure(
        battery_form["flow_id"],
        {k: v for k, v in battery.items() if k != "max_power_kw"} | {"max_power_kw": 5.0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_nothing_is_offered_without_energy_preferences_or_for_other_kinds(
    hass: HomeAssistant, frozen: Any
) -> None:
    entry = island_entry()
    await setup_entry(hass, entry)
    assert "import_energy_entity" not in form_values(
        await entities_form(hass, entry.entry_id, "grid_meter")
    )
    await (await async_get_manager(hass)).async_update(ENERGY)
    assert "switch_entity" not in form_values(
        await entities_form(hass, entry.entry_id, "flexible_load")
    )
    # Malformed preferences (a solar source without its energy sensor) offer nothing.
    await (await async_get_manager(hass)).async_update({"energy_sources": [{"type": "solar"}]})
    assert "export_energy_entity" not in form_values(
        await entities_form(hass, entry.entry_id, "pv")
    )
