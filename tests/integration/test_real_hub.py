"""The integration against a real hub on loopback: real HTTP, real signatures, real WebSocket.

No mocks: `hub.server.app.create_app` with a SQLite store in tmp_path, served on a free port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.gridcoop.const import DOMAIN
from hub.config import HubConfig
from hub.server.app import create_app
from hub.server.runtime import CLEARING
from hub.store import Store

from .common import control_entities, set_source_states

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def real_hub(
    tmp_path: Path, socket_enabled: None
) -> AsyncIterator[tuple[str, web.Application, Store]]:
    store = await Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    app = create_app(HubConfig(), store, run_clearing=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", app, store
    finally:
        await runner.cleanup()
        await store.close()


async def _until(check: Callable[[], Any], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_join_bid_clear_dispatch_and_revoke(
    hass: HomeAssistant, real_hub: tuple[str, web.Application, Store]
) -> None:
    url, app, store = real_hub
    now_ms = int(time.time() * 1000)
    code = await store.create_join_code("Real home", None, now_ms, DAY_MS)
    set_source_states(hass)
    await control_entities(hass)

    # Join through the config flow with a real join code.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": url, "join_code": code}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    home_id = entry.unique_id
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    # A used join code is refused with a translated error.
    again = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {"next_step_id": "hub"}
    )
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {"url": url, "join_code": code}
    )
    assert again["errors"] == {"base": "used_join_code"}

    # Devices: a grid meter (readings), a battery and a dishwasher (bids and dispatch).
    for kind, values in (
        (
            "grid_meter",
            {
                "name": "Meter",
                "import_energy_entity": "sensor.grid_import",
                "export_energy_entity": "sensor.grid_export",
            },
        ),
        (
            "battery",
            {
                "name": "Battery",
                "soc_entity": "sensor.battery_soc",
                "setpoint_entity": "input_number.battery_setpoint",
                "capacity_kwh": 10.0,
                "max_power_kw": 5.0,
            },
        ),
        (
            "flexible_load",
            {
                "name": "Dishwasher",
                "switch_entity": "input_boolean.dishwasher",
                "load_power_w": 2000.0,
                "duration_min": 60.0,
            },
        ),
    ):
        flow = await hass.config_entries.subentries.async_init(
            (entry.entry_id, kind), context={"source": "user"}
        )
        if flow["type"] is FlowResultType.MENU:
            flow = await hass.config_entries.subentries.async_configure(
                flow["flow_id"], {"next_step_id": "entities"}
            )
        flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], values)
        assert flow["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data
    assert len(runtime.devices) == 3

    # Signed readings reached the hub and were accepted.
    assert runtime.hub is not None
    await _until(lambda: runtime.hub.metering.backlog == [])
    stored = await store.readings_for(home_id, 0, 100)
    assert stored, "the hub stored the grid meter's signed readings"

    # The planner's bid for the next open interval is on the hub, signed by the home key.
    interval_start = runtime.home.data.last_bid
    assert interval_start is not None
    assert await store.get_bid(home_id, interval_start) is not None

    # The WebSocket is up; clearing pushes the allocation with dispatch commands.
    market = runtime.hub.market
    await _until(lambda: market.stream_connected)
    await app[CLEARING].clear(interval_start)
    await _until(lambda: market.data is not None and interval_start in market.data.allocations)
    await hass.async_block_till_done()
    cleared = hass.states.get("event.real_home_market_cleared")
    assert cleared.attributes["event_type"] == "cleared"
    assert cleared.attributes["interval_start"] == interval_start
    # The hub derived the dispatch from the home's own bid (carried out at the interval's start,
    # which the real-time end-to-end test waits for).
    allocation = market.data.allocations[interval_start]
    assert {c.device for c in allocation.dispatch} >= {"battery"}
    assert hass.states.get("sensor.real_home_market_balance").state not in (
        "unknown",
        "unavailable",
    )

    # The hub operator revokes the home: the next poll asks the user to join again.
    assert await store.revoke_home(home_id, int(time.time() * 1000))
    await market.async_refresh()
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert any(flow["context"]["source"] == SOURCE_REAUTH for flow in flows)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
