"""Allocations pushed over the WebSocket (or polled) fire events and, when allowed, act."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from .common import (
    ALL_SUBS,
    CURRENT,
    EV_SUB,
    LOAD_SUB,
    FakeHub,
    allocation,
    hub_entry,
    interval,
    island_entry,
    set_source_states,
    setup_entry,
)

LOAD_ASSET = f"load:{LOAD_SUB['subentry_id'].lower()}"
COMMANDS = [
    {
        "device": "battery",
        "action": "discharge",
        "power_w": 2000,
        "energy_wh": 500,
        "reason": "sell",
    },
    {
        "device": LOAD_ASSET,
        "action": "start",
        "power_w": 2000,
        "energy_wh": 500,
        "reason": "filled",
    },
    {"device": "ev", "action": "pause", "power_w": 0, "energy_wh": 0, "reason": "too dear"},
    {"device": "load:unknown", "action": "start", "power_w": 1, "energy_wh": 1, "reason": "x"},
]


async def _stream_up(hub: FakeHub) -> None:
    await asyncio.wait_for(hub.stream_open.wait(), 5)


async def test_pushed_allocation_fires_events_and_applies(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    await _stream_up(fake_hub)
    await hass.async_block_till_done()
    market = entry.runtime_data.market
    assert market.stream_connected
    turn_on = async_mock_service(hass, "homeassistant", "turn_on")
    turn_off = async_mock_service(hass, "homeassistant", "turn_off")
    set_value = async_mock_service(hass, "number", "set_value")
    # Automatic dispatch on for the battery and the dishwasher only.
    for name in ("home_battery", "dishwasher", "wallbox"):
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": f"switch.{name}_automatic_dispatch"}, blocking=True
        )
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.wallbox_automatic_dispatch"}, blocking=True
    )
    fake_hub.push("not json")
    fake_hub.push(json.dumps({"type": "hello"}))
    fake_hub.push(json.dumps({"type": "interval_cleared", "interval": interval(CURRENT, 25)}))
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, COMMANDS)}))
    for _ in range(10):
        await asyncio.sleep(0)
        await hass.async_block_till_done()
    battery = hass.states.get("event.home_battery_dispatch")
    assert battery.attributes["event_type"] == "discharge"
    assert battery.attributes["applied"] is True
    load = hass.states.get("event.dishwasher_dispatch")
    assert load.attributes["event_type"] == "start"
    wallbox = hass.states.get("event.wallbox_dispatch")
    assert wallbox.attributes["event_type"] == "pause"
    assert wallbox.attributes["applied"] is False  # its switch is off: only the event
    assert [c.data for c in set_value] == [
        {"entity_id": "number.battery_setpoint", "value": -2000.0}
    ]
    assert [c.data["entity_id"] for c in turn_on] == ["switch.dishwasher"]
    assert turn_off == []
    cleared = hass.states.get("event.maple_street_4_market_cleared")
    assert cleared.attributes["price"] == 0.25
    assert hass.states.get("sensor.maple_street_4_local_price_now").state == "0.25"
    # Money: 1 kWh locally at 20 c and 0.5 kWh from the grid at 30 c, against 45 c grid-only.
    assert hass.states.get("sensor.maple_street_4_market_balance").state == "-0.35"
    assert hass.states.get("sensor.maple_street_4_savings_today").state == "0.1"
    assert hass.states.get("sensor.maple_street_4_energy_traded_today").state == "1.0"
    # The same allocation again (say, from a poll) is neither counted nor dispatched twice.
    fake_hub.results_data = [allocation(CURRENT, COMMANDS)]
    await market.async_refresh()
    assert len(set_value) == 1
    assert hass.states.get("sensor.maple_street_4_market_balance").state == "-0.35"
    # The socket closes: the stream reconnects and polling takes over meanwhile.
    fake_hub.stream_open.clear()
    fake_hub.push("", aiohttp.WSMsgType.CLOSED)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not market.stream_connected
    frozen.tick(timedelta(seconds=2))  # past the first reconnect backoff
    async_fire_time_changed(hass)
    await _stream_up(fake_hub)
    await hass.async_block_till_done()
    assert market.stream_connected
    assert entry.runtime_data.stream.reconnects == 1


async def test_failed_device_action_is_logged_not_raised(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any, caplog: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry([EV_SUB])
    await setup_entry(hass, entry)
    await _stream_up(fake_hub)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.wallbox_automatic_dispatch"}, blocking=True
    )
    calls: list[ServiceCall] = []

    async def broken_switch(call: ServiceCall) -> None:
        calls.append(call)
        raise HomeAssistantError("plug offline")

    hass.services.async_register("homeassistant", "turn_on", broken_switch)
    command = {
        "device": "ev",
        "action": "charge",
        "power_w": 7000,
        "energy_wh": 1750,
        "reason": "ok",
    }
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [command])}))
    for _ in range(10):
        await asyncio.sleep(0)
        await hass.async_block_till_done()
    assert len(calls) == 1
    assert "Could not charge Wallbox" in caplog.text
    assert hass.states.get("event.wallbox_dispatch").attributes["applied"] is False


async def test_old_allocation_is_history_only(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    fake_hub.results_data = [allocation(CURRENT - 3600, COMMANDS)]
    await setup_entry(hass, hub_entry(ALL_SUBS))
    assert hass.states.get("event.home_battery_dispatch").state == "unknown"
    assert hass.states.get("sensor.maple_street_4_market_balance").state == "-0.35"


async def test_island_dispatch_follows_the_plan(hass: HomeAssistant, frozen: Any) -> None:
    set_source_states(hass)
    entry = island_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    set_value = async_mock_service(hass, "number", "set_value")
    assert hass.states.get("event.home_battery_dispatch").attributes["reason"] == "island plan"
    assert set_value == []  # automatic dispatch is off by default
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.home_battery_automatic_dispatch"}, blocking=True
    )
    await hass.async_block_till_done()
    assert len(set_value) == 1
    assert hass.states.get("event.home_battery_dispatch").attributes["applied"] is True
    assert hass.states.get("sensor.island_recommended_action").state in {
        "charge_battery",
        "discharge_battery",
        "charge_ev",
        "run_flexible_loads",
        "export",
        "hold",
    }
