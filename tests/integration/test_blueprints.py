"""The shipped blueprints are valid and do what they say, run by Home Assistant's automation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml
from pytest_homeassistant_custom_component.common import async_mock_service

FOLDER = Path(__file__).parents[2] / "blueprints" / "automation" / "gridcoop"


async def _automation(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    path = FOLDER / name
    blueprint = Blueprint(
        yaml.load_yaml_dict(str(path)),
        path=str(path),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    config = BlueprintInputs(blueprint, {"use_blueprint": {"path": name, "input": inputs}})
    config.validate()
    automation = {"id": name, "alias": name, **config.async_substitute()}
    automation.pop("blueprint", None)
    assert await async_setup_component(hass, "automation", {"automation": [automation]})
    await hass.async_block_till_done()


async def test_run_appliance_when_dispatched(hass: HomeAssistant) -> None:
    on = async_mock_service(hass, "homeassistant", "turn_on")
    off = async_mock_service(hass, "homeassistant", "turn_off")
    await _automation(
        hass,
        "run_appliance_when_dispatched.yaml",
        {
            "dispatch_event": "event.dishwasher_dispatch",
            "appliance": "switch.dishwasher",
            "turn_off_on_defer": True,
        },
    )
    hass.states.async_set(
        "event.dishwasher_dispatch", "2026-06-01T10:00:00", {"event_type": "start"}
    )
    await hass.async_block_till_done()
    assert [c.data["entity_id"] for c in on] == [["switch.dishwasher"]]
    hass.states.async_set(
        "event.dishwasher_dispatch", "2026-06-01T10:15:00", {"event_type": "defer"}
    )
    await hass.async_block_till_done()
    assert [c.data["entity_id"] for c in off] == [["switch.dishwasher"]]


async def test_charge_ev_below_price(hass: HomeAssistant) -> None:
    on = async_mock_service(hass, "homeassistant", "turn_on")
    off = async_mock_service(hass, "homeassistant", "turn_off")
    await _automation(
        hass,
        "charge_ev_below_price.yaml",
        {"price_sensor": "sensor.local_price", "charger": "switch.wallbox", "max_price": 0.15},
    )
    hass.states.async_set("sensor.local_price", "0.12")
    await hass.async_block_till_done()
    assert len(on) == 1
    hass.states.async_set("sensor.local_price", "0.2")
    await hass.async_block_till_done()
    assert len(off) == 1
    hass.states.async_set("sensor.local_price", "unavailable")
    await hass.async_block_till_done()
    assert len(on) == 1
    assert len(off) == 1
