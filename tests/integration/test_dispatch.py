"""Allocations carried out on the home's devices: within every limit, read back, and never
against the owner."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from .common import (
    ALL_SUBS,
    BATTERY_SUB,
    CURRENT,
    EV_SUB,
    INTERVAL,
    LOAD_SUB,
    FakeHub,
    allocation,
    control_entities,
    hub_entry,
    interval,
    island_entry,
    set_source_states,
    setup_entry,
)

LOAD_ASSET = f"load:{LOAD_SUB['subentry_id'].lower()}"
SETPOINT = "input_number.battery_setpoint"
DISHWASHER = "input_boolean.dishwasher"


def command(device: str, action: str, power_w: int = 0, energy_wh: int = 0) -> dict[str, Any]:
    return {
        "device": device,
        "action": action,
        "power_w": power_w,
        "energy_wh": energy_wh,
        "reason": "as bid",
    }


COMMANDS = [
    command("battery", "discharge", 2000, 500),
    command(LOAD_ASSET, "start", 2000, 500),
    command("ev", "pause"),
    command("load:unknown", "start", 1, 1),
]


async def settle(hass: HomeAssistant) -> None:
    for _ in range(10):
        await asyncio.sleep(0)
        await hass.async_block_till_done()


async def automatic(hass: HomeAssistant, *names: str, on: bool = True) -> None:
    for name in names:
        await hass.services.async_call(
            "switch",
            "turn_on" if on else "turn_off",
            {"entity_id": f"switch.{name}_automatic_dispatch"},
            blocking=True,
        )


async def hub_home(hass: HomeAssistant, fake_hub: FakeHub, subs: list[Any] = ALL_SUBS) -> Any:
    set_source_states(hass)
    entry = hub_entry(subs)
    await setup_entry(hass, entry)
    await asyncio.wait_for(fake_hub.stream_open.wait(), 5)
    await hass.async_block_till_done()
    return entry


async def test_a_pushed_allocation_is_carried_out_and_read_back(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    entry = await hub_home(hass, fake_hub)
    market = entry.runtime_data.hub.market
    assert market.stream_connected
    await automatic(hass, "home_battery", "dishwasher")
    fake_hub.push("not json")
    fake_hub.push(json.dumps({"type": "hello"}))
    nxt = interval(CURRENT + INTERVAL, 25)  # cleared at its gate closure
    fake_hub.push(json.dumps({"type": "interval_cleared", "interval": nxt}))
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, COMMANDS)}))
    await settle(hass)
    # The battery's setpoint entity holds the discharge, read back: applied.
    assert hass.states.get(SETPOINT).state == "-2000.0"
    battery = hass.states.get("event.home_battery_dispatch")
    assert (battery.attributes["event_type"], battery.attributes["applied"]) == ("discharge", True)
    assert hass.states.get(DISHWASHER).state == "on"
    assert hass.states.get("event.dishwasher_dispatch").attributes["event_type"] == "start"
    # The wallbox's automatic dispatch is off: only the event, nothing switched.
    wallbox = hass.states.get("event.wallbox_dispatch")
    assert (wallbox.attributes["event_type"], wallbox.attributes["applied"]) == ("pause", False)
    assert wallbox.attributes["not_applied_because"] == "automatic dispatch is off"
    assert hass.states.get("sensor.maple_street_4_recommended_action").state == (
        "discharge_battery"
    )
    cleared = hass.states.get("event.maple_street_4_market_cleared")
    assert cleared.attributes["price"] == 0.25
    assert hass.states.get("sensor.maple_street_4_local_price_next_interval").state == "0.25"
    assert hass.states.get("sensor.maple_street_4_local_price_now").state == "0.2"
    # Money: 1 kWh locally at 20 c and 0.5 kWh from the grid at 30 c, against 45 c grid-only.
    assert hass.states.get("sensor.maple_street_4_market_balance").state == "-0.35"
    assert hass.states.get("sensor.maple_street_4_savings_today").state == "0.1"
    assert hass.states.get("sensor.maple_street_4_energy_traded_today").state == "1.0"
    # The same allocation again (say, from a poll) is neither counted nor dispatched twice.
    fake_hub.results_data = [allocation(CURRENT, COMMANDS)]
    await hass.services.async_call(
        "input_number", "set_value", {"entity_id": SETPOINT, "value": 0}, blocking=True
    )
    await market.async_refresh()
    await settle(hass)
    assert hass.states.get("sensor.maple_street_4_market_balance").state == "-0.35"


async def test_switching_automatic_dispatch_on_carries_out_the_interval_under_way(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub, [BATTERY_SUB])
    charge = command("battery", "charge", 3000, 750)
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [charge])}))
    await settle(hass)
    # Off: told, not done.
    assert hass.states.get(SETPOINT).state == "0.0"
    assert hass.states.get("event.home_battery_dispatch").attributes["applied"] is False

    await automatic(hass, "home_battery")
    await settle(hass)

    # On: the same interval's command at once, not from the next interval on.
    assert hass.states.get(SETPOINT).state == "3000.0"
    assert hass.states.get("event.home_battery_dispatch").attributes["applied"] is True


async def test_a_command_beyond_the_rating_is_cut_to_it(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    # The field report: "charge 6840 W" for a 5 kW battery. The setpoint gets 5000 W.
    await hub_home(hass, fake_hub, [BATTERY_SUB])
    await automatic(hass, "home_battery")
    too_much = command("battery", "charge", 6840, 1710)
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [too_much])}))
    await settle(hass)
    assert hass.states.get(SETPOINT).state == "5000.0"
    event = hass.states.get("event.home_battery_dispatch")
    assert event.attributes["power_w"] == 5000
    assert "limited from 6840 W to 5000 W" in event.attributes["reason"]


async def test_a_setpoint_that_does_not_take_the_value_is_not_applied(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub, [BATTERY_SUB])
    await automatic(hass, "home_battery")

    async def ignore(call: ServiceCall) -> None:
        """A setpoint that accepts the call and keeps its old value."""

    hass.services.async_register("input_number", "set_value", ignore)
    fake_hub.push(
        json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [COMMANDS[0]])})
    )
    await settle(hass)
    event = hass.states.get("event.home_battery_dispatch")
    assert event.attributes["applied"] is False
    assert event.attributes["not_applied_because"] == "the device did not take the value"


async def test_a_load_switched_on_by_hand_stays_on(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub)
    await automatic(hass, "dishwasher")
    # The owner starts the dishwasher themselves (a context that is not GridCoop's).
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": DISHWASHER}, blocking=True, context=Context()
    )
    await settle(hass)
    assert hass.states.get("binary_sensor.dishwasher_changed_by_hand").state == "on"
    defer = command(LOAD_ASSET, "defer")
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [defer])}))
    await settle(hass)
    assert hass.states.get(DISHWASHER).state == "on"
    event = hass.states.get("event.dishwasher_dispatch")
    assert (event.attributes["event_type"], event.attributes["applied"]) == ("defer", False)
    assert event.attributes["not_applied_because"] == "changed by hand: automatic dispatch paused"
    # Switched off again (by the owner or the appliance): dispatch may act again.
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": DISHWASHER}, blocking=True, context=Context()
    )
    await settle(hass)
    assert hass.states.get("binary_sensor.dishwasher_changed_by_hand").state == "off"


async def test_dispatch_switches_off_only_what_it_switched_on(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    # The dishwasher was already running when Home Assistant started: not GridCoop's doing.
    await control_entities(hass)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": DISHWASHER}, blocking=True
    )
    await hub_home(hass, fake_hub)
    await automatic(hass, "dishwasher")
    defer = command(LOAD_ASSET, "defer")
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [defer])}))
    await settle(hass)
    assert hass.states.get(DISHWASHER).state == "on"
    assert hass.states.get("event.dishwasher_dispatch").attributes["not_applied_because"] == (
        "switched on outside GridCoop: left on"
    )
    # What GridCoop starts itself, it may stop.
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": DISHWASHER}, blocking=True
    )
    start = command(LOAD_ASSET, "start", 2000, 500)
    nxt = CURRENT + INTERVAL
    frozen.tick(timedelta(seconds=INTERVAL))
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(nxt, [start])}))
    async_fire_time_changed(hass)
    await settle(hass)
    assert hass.states.get(DISHWASHER).state == "on"
    frozen.tick(timedelta(seconds=INTERVAL))
    fake_hub.push(
        json.dumps({"type": "allocation", "allocation": allocation(nxt + INTERVAL, [defer])})
    )
    async_fire_time_changed(hass)
    await settle(hass)
    assert hass.states.get(DISHWASHER).state == "off"


async def test_an_allocation_for_a_later_interval_waits_for_its_start(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub, [BATTERY_SUB])
    await automatic(hass, "home_battery")
    later = CURRENT + INTERVAL
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(later, COMMANDS)}))
    await settle(hass)
    assert hass.states.get(SETPOINT).state == "0.0"  # cleared at gate closure, not yet due
    frozen.tick(timedelta(seconds=INTERVAL))
    async_fire_time_changed(hass)
    await settle(hass)
    assert hass.states.get(SETPOINT).state == "-2000.0"


async def test_a_dispatch_event_fires_when_the_command_changes_not_every_interval(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    await hub_home(hass, fake_hub, [BATTERY_SUB])
    fired: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: (
            fired.append(e.data["entity_id"])
            if e.data["entity_id"] == "event.home_battery_dispatch"
            else None
        ),
    )
    for i in range(3):
        start = CURRENT + i * INTERVAL
        fake_hub.push(
            json.dumps({"type": "allocation", "allocation": allocation(start, [COMMANDS[0]])})
        )
        await settle(hass)
        frozen.tick(timedelta(seconds=INTERVAL))
        async_fire_time_changed(hass)
        await settle(hass)
    assert len(fired) == 1  # three intervals, one and the same command: one logbook line


async def test_failed_device_action_is_logged_not_raised(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any, caplog: Any
) -> None:
    await hub_home(hass, fake_hub, [EV_SUB])
    await automatic(hass, "wallbox")
    calls: list[ServiceCall] = []

    async def broken_switch(call: ServiceCall) -> None:
        calls.append(call)
        raise HomeAssistantError("plug offline")

    hass.services.async_register("input_boolean", "turn_on", broken_switch)
    charge = command("ev", "charge", 7000, 1750)
    fake_hub.push(json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [charge])}))
    await settle(hass)
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


async def test_the_socket_reconnects_after_it_closes(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    entry = await hub_home(hass, fake_hub, [BATTERY_SUB])
    hub = entry.runtime_data.hub
    fake_hub.stream_open.clear()
    fake_hub.push("", aiohttp.WSMsgType.CLOSED)
    await settle(hass)
    assert not hub.market.stream_connected
    frozen.tick(timedelta(seconds=2))  # past the first reconnect backoff
    async_fire_time_changed(hass)
    await asyncio.wait_for(fake_hub.stream_open.wait(), 5)
    await hass.async_block_till_done()
    assert hub.market.stream_connected
    assert hub.stream.reconnects == 1


async def test_island_dispatch_follows_the_plan(hass: HomeAssistant, frozen: Any) -> None:
    set_source_states(hass)
    entry = island_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    event = hass.states.get("event.home_battery_dispatch")
    assert event.attributes["reason"] == "island plan"
    assert event.attributes["applied"] is False  # automatic dispatch is off by default
    await automatic(hass, "home_battery")
    frozen.tick(timedelta(minutes=15))
    async_fire_time_changed(hass)
    await settle(hass)
    event = hass.states.get("event.home_battery_dispatch")
    assert event.attributes["applied"] is True
    power = float(hass.states.get(SETPOINT).state)
    assert abs(power) <= 5000
    assert hass.states.get("sensor.island_recommended_action").state in {
        "charge_battery",
        "discharge_battery",
        "charge_ev",
        "run_flexible_loads",
        "export",
        "hold",
    }


async def test_a_setpoint_changed_by_hand_pauses_dispatch_for_the_configured_time(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry([BATTERY_SUB], override_minutes=30)
    await setup_entry(hass, entry)
    await automatic(hass, "home_battery")
    await hass.services.async_call(
        "input_number",
        "set_value",
        {"entity_id": SETPOINT, "value": 1500},
        blocking=True,
        context=Context(),
    )
    await settle(hass)
    override = hass.states.get("binary_sensor.home_battery_changed_by_hand")
    assert override.state == "on"
    assert override.attributes["until"] is not None
    fake_hub.push(
        json.dumps({"type": "allocation", "allocation": allocation(CURRENT, [COMMANDS[0]])})
    )
    await settle(hass)
    assert hass.states.get(SETPOINT).state == "1500.0"  # the owner's value stays
    frozen.tick(timedelta(minutes=31))
    async_fire_time_changed(hass)
    await settle(hass)
    assert hass.states.get("binary_sensor.home_battery_changed_by_hand").state == "off"
