"""Device subentries: entity-based and SunSpec Modbus (a real pymodbus server on loopback)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.gridcoop.const import SOURCE_ENTITIES, SOURCE_MODBUS
from tests.home.devices.conftest import serve
from tests.home.devices.register_maps import BATTERY, INVERTER, NO_SUNSPEC, meter

from .common import FakeHub, hub_entry, island_entry, setup_entry, subentry

ENTITY_INPUT = {
    "pv": {"name": "Roof", "export_energy_entity": "sensor.pv_energy", "peak_kw": 5.0},
    "battery": {
        "name": "Battery",
        "soc_entity": "sensor.battery_soc",
        "capacity_kwh": 10.0,
        "max_power_kw": 5.0,
    },
    "ev_charger": {
        "name": "Car",
        "switch_entity": "switch.wallbox",
        "capacity_kwh": 60.0,
        "max_power_kw": 11.0,
        "target_soc": 80.0,
    },
    "grid_meter": {"name": "Meter", "import_energy_entity": "sensor.grid_import"},
    "flexible_load": {
        "name": "Washer",
        "switch_entity": "switch.dishwasher",
        "load_power_w": 500.0,
        "duration_min": 60.0,
    },
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", list(ENTITY_INPUT))
async def test_add_and_reconfigure_entity_device(
    hass: HomeAssistant, frozen: Any, kind: str
) -> None:
    entry = island_entry()
    await setup_entry(hass, entry)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": "user"}
    )
    if result["type"] is FlowResultType.MENU:
        assert result["menu_options"] == ["entities", "modbus"]
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"next_step_id": "entities"}
        )
    assert result["step_id"] == "entities"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], ENTITY_INPUT[kind]
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    sub = next(iter(entry.subentries.values()))
    assert sub.subentry_type == kind
    assert sub.data["source"] == SOURCE_ENTITIES
    assert "name" not in sub.data
    # Reconfigure: the form comes prefilled and a rename sticks.
    result = await entry.start_subentry_reconfigure_flow(hass, sub.subentry_id)
    assert result["step_id"] == "entities"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**ENTITY_INPUT[kind], "name": "Renamed"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[sub.subentry_id].title == "Renamed"
    assert entry.state is ConfigEntryState.LOADED


MODBUS_CASES = [
    ("pv", INVERTER, {"peak_kw": 5.0}),
    ("battery", BATTERY, {"capacity_kwh": 10.0, "max_power_kw": 5.0}),
    ("grid_meter", meter(40000), {}),
]


@pytest.mark.parametrize(("kind", "registers", "params"), MODBUS_CASES)
async def test_add_modbus_device_reads_it(
    hass: HomeAssistant,
    socket_enabled: None,
    kind: str,
    registers: Any,
    params: dict[str, Any],
) -> None:
    entry = island_entry()
    await setup_entry(hass, entry)
    async with serve(registers) as device:
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, kind), context={"source": "user"}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"next_step_id": "modbus"}
        )
        assert result["step_id"] == "modbus"
        values = {
            "name": "Device",
            "host": "127.0.0.1",
            "port": device.port,
            "unit_id": 1,
            "allow_writes": False,
            **params,
        }
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], values)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        sub = next(iter(entry.subentries.values()))
        assert sub.data["source"] == SOURCE_MODBUS
        power = hass.states.get("sensor.device_power")
        assert power is not None
        assert power.state not in ("unavailable", "unknown")
        # Reconfigure goes straight to the Modbus form.
        result = await entry.start_subentry_reconfigure_flow(hass, sub.subentry_id)
        assert result["step_id"] == "modbus"
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], values)
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_modbus_form_errors(hass: HomeAssistant, socket_enabled: None) -> None:
    entry = island_entry()
    await setup_entry(hass, entry)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "grid_meter"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "modbus"}
    )
    flow_id = result["flow_id"]
    base = {"name": "M", "host": "127.0.0.1", "unit_id": 1, "allow_writes": False}
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {**base, "port": _free_port()}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    async with serve(NO_SUNSPEC) as device:
        result = await hass.config_entries.subentries.async_configure(
            flow_id, {**base, "port": device.port}
        )
    assert result["errors"] == {"base": "not_sunspec"}
    async with serve(INVERTER) as device:  # an inverter is not a meter
        result = await hass.config_entries.subentries.async_configure(
            flow_id, {**base, "port": device.port}
        )
    assert result["errors"] == {"base": "unsupported_device"}


async def test_sunspec_battery_write_on_dispatch(
    hass: HomeAssistant, socket_enabled: None, fake_hub: FakeHub
) -> None:
    from gridcoop_home.protocol.dispatch import DispatchCommand

    async with serve(BATTERY) as device:
        battery = subentry(
            "battery",
            "Modbus battery",
            "01MODBUSBATTERY0000000000",
            source="modbus",
            host="127.0.0.1",
            port=device.port,
            unit_id=1,
            allow_writes=True,
            capacity_kwh=10.0,
            max_power_kw=5.0,
        )
        pv = subentry(
            "pv",
            "Modbus PV",
            "01MODBUSPV000000000000000",
            source="modbus",
            host="127.0.0.1",
            port=device.port,  # no inverter model here: PV reads fail, writes are refused
            unit_id=1,
            allow_writes=False,
            peak_kw=5.0,
        )
        entry = hub_entry([battery, pv])
        await setup_entry(hass, entry)
        runtime = entry.runtime_data
        assert hass.states.get("sensor.modbus_battery_battery").state == "56.4"
        runtime.settings.auto_dispatch.update(
            {battery["subentry_id"]: True, pv["subentry_id"]: True}
        )
        command = DispatchCommand("battery", "charge", 1000, 250, "filled")
        await runtime.dispatcher.async_handle(
            [command, DispatchCommand("pv", "curtail", 100, 25, "x")], 0, {}
        )
        assert runtime.dispatcher.last[battery["subentry_id"]]["applied"] is True
        assert runtime.dispatcher.last[pv["subentry_id"]]["applied"] is False
        assert hass.states.get("sensor.modbus_pv_power").state == "unavailable"
        assert device.writes, "the battery setpoint was written over Modbus"
        await hass.config_entries.async_unload(entry.entry_id)  # restores the registers


async def test_a_setpoint_that_is_not_a_number_is_refused_in_the_flow(
    hass: HomeAssistant,
) -> None:
    entry = island_entry()
    await setup_entry(hass, entry)
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "battery"), context={"source": "user"}
    )
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {"next_step_id": "entities"}
    )
    # The selector already only offers number and input_number; a value that slips past it
    # (an API call, an old configuration) is still refused with a translated error.
    handler = hass.config_entries.subentries._progress[flow["flow_id"]]
    result = await handler.async_step_entities(
        {
            "name": "Battery",
            "soc_entity": "sensor.battery_soc",
            "setpoint_entity": "sensor.battery_power",
            "capacity_kwh": 10.0,
            "max_power_kw": 5.0,
        }
    )
    assert result["errors"] == {"setpoint_entity": "setpoint_not_a_number"}
