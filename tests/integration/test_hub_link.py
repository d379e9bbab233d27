"""The hub link's timing, as the documentation states it (docs/home_assistant.md#data-updates):
while the WebSocket is up the market is polled every 5 minutes as a check, otherwise every
reading interval; the socket reconnects with exponential backoff from 1 s up to 5 minutes."""

from __future__ import annotations

import asyncio
import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from gridcoop_home.client.errors import HubUnreachable
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.gridcoop import hub_link
from custom_components.gridcoop.hub_link import HubStream

from .common import BATTERY_SUB, FakeHub, hub_entry, set_source_states, setup_entry


async def settle(hass: HomeAssistant) -> None:
    for _ in range(10):
        await asyncio.sleep(0)
        await hass.async_block_till_done()


def count_polls(fake_hub: FakeHub) -> list[int]:
    """A cell counting the market polls (each poll asks the hub's info first)."""
    polls = [0]
    info = fake_hub.info

    async def counted() -> dict[str, Any]:
        polls[0] += 1
        return await info()

    fake_hub.info = counted  # type: ignore[method-assign]
    return polls


async def minutes_pass(hass: HomeAssistant, frozen: Any, minutes: int) -> None:
    for _ in range(minutes):
        frozen.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await settle(hass)


async def test_the_market_is_polled_every_5_minutes_while_the_socket_is_up(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    await setup_entry(hass, hub_entry([BATTERY_SUB]))  # reading interval: 60 s (the default)
    await asyncio.wait_for(fake_hub.stream_open.wait(), 5)
    await settle(hass)
    polls = count_polls(fake_hub)
    await minutes_pass(hass, frozen, 4)
    assert polls[0] == 0, "no poll within the 5 minutes while the socket pushes"
    await minutes_pass(hass, frozen, 1)
    assert polls[0] == 1
    await minutes_pass(hass, frozen, 5)
    assert polls[0] == 2
    # The socket drops: a poll at once, and from then on the reading interval's schedule (each
    # failed reconnect polls too, so the schedule is read off the coordinator).
    fake_hub.stream_open.clear()
    fake_hub.push("", aiohttp.WSMsgType.CLOSED)
    fake_hub.fail = HubUnreachable("gone")  # the reconnects fail too
    await settle(hass)
    assert polls[0] == 3
    market = hass.config_entries.async_entries("gridcoop")[0].runtime_data.hub.market
    assert not market.stream_connected
    assert market.update_interval == timedelta(seconds=60)


class DownHub:
    """A hub API whose WebSocket opens (and closes at once) only when the script says "up"."""

    def __init__(self, script: list[str]) -> None:
        self.script = script

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[AsyncIterator[Any]]:
        if self.script.pop(0) == "down":
            raise HubUnreachable("connection refused")

        async def nothing() -> AsyncIterator[Any]:
            return
            yield

        yield nothing()


class Market:
    def __init__(self) -> None:
        self.connected: list[bool] = []

    def set_stream_connected(self, connected: bool) -> None:
        self.connected.append(connected)

    async def async_refresh(self) -> None:
        pass


class Stop(Exception):
    pass


async def test_reconnects_back_off_exponentially_to_5_minutes_and_reset_after_a_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = ["down"] * 11 + ["up", "down", "down"]
    tries = len(script)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == tries:
            raise Stop

    monkeypatch.setattr(hub_link, "asyncio", types.SimpleNamespace(sleep=sleep))
    market = Market()
    stream = HubStream(DownHub(script), market)  # type: ignore[arg-type]
    with pytest.raises(Stop):
        await stream.run()
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 1, 2, 4]
    assert stream.reconnects == tries
    assert market.connected.count(True) == 1
