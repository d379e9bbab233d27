"""Setup, unload, reload, hub outages and repair issues."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from gridcoop_home.client.errors import HubUnreachable, error_for
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.gridcoop.const import DOMAIN

from .common import (
    ALL_SUBS,
    CURRENT,
    GRID_SUB,
    LOAD_SUB,
    FakeHub,
    hub_entry,
    interval,
    island_entry,
    set_source_states,
    setup_entry,
)

PRICE = "sensor.maple_street_4_local_price_now"


async def test_setup_unload_reload(hass: HomeAssistant, fake_hub: FakeHub, frozen: Any) -> None:
    set_source_states(hass)
    entry = hub_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(PRICE).state == "0.2"
    runtime = entry.runtime_data
    assert runtime.home.data.plan is not None
    assert fake_hub.bids, "a bid for the next open interval was submitted"
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get(PRICE).state == STATE_UNAVAILABLE


async def test_adding_a_device_reloads(hass: HomeAssistant, fake_hub: FakeHub, frozen: Any) -> None:
    set_source_states(hass)
    entry = hub_entry([GRID_SUB])
    await setup_entry(hass, entry)
    assert len(entry.runtime_data.devices) == 1
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "flexible_load"), context={"source": "user"}
    )
    await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Washer",
            "switch_entity": "switch.dishwasher",
            "load_power_w": 500,
            "duration_min": 60,
        },
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert len(entry.runtime_data.devices) == 2


async def test_hub_down_keeps_island_planning_and_raises_repair(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any, caplog: Any
) -> None:
    set_source_states(hass)
    fake_hub.fail = HubUnreachable("connection refused")
    entry = hub_entry([GRID_SUB, LOAD_SUB], outage_repair_minutes=10)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(PRICE).state == STATE_UNAVAILABLE
    runtime = entry.runtime_data
    assert runtime.hub is not None
    assert runtime.home.data.plan is not None  # planned against the grid tariff alone
    assert runtime.home.data.plan.bids is None
    assert runtime.hub.metering.backlog, "readings are buffered while the hub is down"
    registry = ir.async_get(hass)
    issue_id = f"hub_unreachable_{entry.entry_id}"
    assert registry.async_get_issue(DOMAIN, issue_id) is None  # not yet: outage too short
    frozen.tick(timedelta(minutes=9))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    # At the threshold itself, not at whichever poll comes after it.
    frozen.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, issue_id) is not None
    loud = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "Cannot reach" in r.getMessage()
    ]
    assert len(loud) == 1  # logged once, not at every poll
    # The hub comes back: the issue goes, the home plans and bids at once (not at the next
    # 15-minute slot), the backlog is uploaded, market entities return.
    fake_hub.fail = None
    fake_hub.intervals_data = [interval(CURRENT + 900)]  # the clock moved on one interval
    await runtime.hub.market.async_refresh()
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    assert fake_hub.bids, "bid right after the hub came back"
    assert runtime.home.data.plan is not None and runtime.home.data.plan.bids is not None
    await runtime.loop.upload_readings()
    assert fake_hub.uploaded
    assert runtime.hub.metering.backlog == []
    assert hass.states.get(PRICE).state == "0.2"


async def test_revoked_home_starts_reauth(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    fake_hub.fail = error_for(403, "home_revoked", "revoked")
    entry = hub_entry()
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_other_hub_errors_and_incompatible_hub(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    entry = hub_entry(outage_repair_minutes=0)
    fake_hub.fail = error_for(500, "internal", "x")
    await setup_entry(hass, entry)
    assert hass.states.get(PRICE).state == STATE_UNAVAILABLE
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"hub_unreachable_{entry.entry_id}")
    fake_hub.fail = None
    fake_hub.info_data = {**fake_hub.info_data, "protocol_version": 2}
    assert entry.runtime_data.hub is not None
    await entry.runtime_data.hub.market.async_refresh()
    assert hass.states.get(PRICE).state == STATE_UNAVAILABLE


async def test_missing_source_entity_raises_repair(hass: HomeAssistant, frozen: Any) -> None:
    entry = island_entry([GRID_SUB])
    hass.states.async_set("sensor.grid_power", "100", {"unit_of_measurement": "W"})
    await setup_entry(hass, entry)
    registry = ir.async_get(hass)
    issue = registry.async_get_issue(DOMAIN, f"source_missing_{GRID_SUB['subentry_id']}")
    assert issue is not None
    assert "sensor.grid_import" in issue.translation_placeholders["entities"]
    set_source_states(hass)
    await entry.runtime_data.loop.read_devices()
    assert registry.async_get_issue(DOMAIN, f"source_missing_{GRID_SUB['subentry_id']}") is None


async def test_periodic_refresh(hass: HomeAssistant, fake_hub: FakeHub, frozen: Any) -> None:
    set_source_states(hass)
    entry = hub_entry([GRID_SUB])
    await setup_entry(hass, entry)
    set_source_states(hass, grid_import=1201.5)
    frozen.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    readings = [r.body for r in fake_hub.uploaded]
    assert readings[-1]["import_wh"] - readings[0]["import_wh"] == 1000


async def test_a_dropped_websocket_polls_at_once_and_market_entities_go_unavailable(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    # The hub is killed: the socket drops, the home asks at once and shows the market as
    # unavailable within seconds, not after the 5-minute poll that runs while the socket is up.
    import asyncio

    import aiohttp

    set_source_states(hass)
    entry = hub_entry([GRID_SUB])
    await setup_entry(hass, entry)
    await asyncio.wait_for(fake_hub.stream_open.wait(), 5)
    await hass.async_block_till_done()
    assert hass.states.get(PRICE).state == "0.2"
    fake_hub.fail = HubUnreachable("connection refused")
    fake_hub.push("", aiohttp.WSMsgType.CLOSED)
    for _ in range(10):
        await asyncio.sleep(0)
        await hass.async_block_till_done()
    assert hass.states.get(PRICE).state == STATE_UNAVAILABLE
    # "Submit bid now" says why nothing can be bid.
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.maple_street_4_submit_bid_now"}, blocking=True
        )
    assert err.value.translation_key == "hub_unreachable"
