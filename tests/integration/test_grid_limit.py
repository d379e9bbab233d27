"""Dimming at home: the hub's grid limit (in the allocation) is applied to the devices and shown.

The allocation carries `grid_limit`; the integration holds the devices to it (the wallbox and the
battery give way first, a flexible load whole), never switches off what the owner switched on,
and shows the limit on the "Grid limit now" sensor."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import Context, HomeAssistant

from .common import CURRENT, FakeHub, allocation
from .test_dispatch import DISHWASHER, LOAD_ASSET, SETPOINT, automatic, command, hub_home, settle

WALLBOX_POWER = "input_number.wallbox_power"
LIMIT_SENSOR = "sensor.maple_street_4_grid_limit_now"
EVENING = [
    command("battery", "charge", 3000, 750),
    command("ev", "charge", 11000, 2750),
    command(LOAD_ASSET, "start", 2000, 500),
]


def dimmed(commands: list[dict[str, Any]], **limit: int | None) -> str:
    wire = {**allocation(CURRENT, commands), "grid_limit": {"import_w": None, "export_w": None}}
    wire["grid_limit"].update(limit)
    return json.dumps({"type": "allocation", "allocation": wire})


async def test_a_dimmed_home_pauses_the_wallbox_and_slows_the_battery(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub)
    await automatic(hass, "home_battery", "dishwasher", "wallbox")

    fake_hub.push(dimmed(EVENING, import_w=4200))
    await settle(hass)

    wallbox = hass.states.get("event.wallbox_dispatch")
    assert (wallbox.attributes["event_type"], wallbox.attributes["power_w"]) == ("pause", 0)
    assert "grid import limit 4200 W" in wallbox.attributes["reason"]
    assert hass.states.get(SETPOINT).state == "2200.0"  # 4200 W less the dishwasher's 2000 W
    assert hass.states.get(DISHWASHER).state == "on"
    limit = hass.states.get(LIMIT_SENSOR)
    assert limit.state == "4.2"
    assert limit.attributes["limited"] is True
    assert limit.attributes["export_limit_kw"] is None
    assert limit.attributes["unit_of_measurement"] == "kW"


async def test_what_the_owner_switched_on_stays_on_under_a_limit(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub)
    await automatic(hass, "home_battery", "dishwasher", "wallbox")
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": DISHWASHER}, blocking=True, context=Context()
    )
    await settle(hass)

    fake_hub.push(dimmed(EVENING, import_w=2000))
    await settle(hass)

    assert hass.states.get(DISHWASHER).state == "on"  # the owner's: never switched off
    assert hass.states.get(SETPOINT).state == "0.0"  # the battery gives way instead
    battery = hass.states.get("event.home_battery_dispatch")
    assert battery.attributes["event_type"] == "idle"


async def test_an_export_limit_stops_the_battery_discharging(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub)
    await automatic(hass, "home_battery")

    fake_hub.push(dimmed([command("battery", "discharge", 4000, 1000)], export_w=1500))
    await settle(hass)

    assert hass.states.get(SETPOINT).state == "-1500.0"
    limit = hass.states.get(LIMIT_SENSOR)
    assert limit.state == "unknown"  # no import limit
    assert limit.attributes["export_limit_kw"] == 1.5


async def test_without_a_limit_the_sensor_says_so(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub)

    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, EVENING)}))
    await settle(hass)

    limit = hass.states.get(LIMIT_SENSOR)
    assert limit.state == "unknown"
    assert limit.attributes["limited"] is False
