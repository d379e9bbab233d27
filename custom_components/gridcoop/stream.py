"""The hub's WebSocket: market news and this home's allocations, pushed as they clear.

Reconnects with exponential backoff; while it is down, the market coordinator polls instead.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable

from .const import LOGGER
from .market import MarketCoordinator

MIN_BACKOFF = 1.0
MAX_BACKOFF = 300.0


class HubStream:
    def __init__(self, client: HubClient, market: MarketCoordinator) -> None:
        self._client = client
        self._market = market
        self.reconnects = 0

    async def run(self) -> None:
        delay = MIN_BACKOFF
        while True:
            try:
                async with self._client.stream() as ws:
                    self._market.set_stream_connected(True)
                    delay = MIN_BACKOFF
                    await self._market.async_request_refresh()  # catch up on what was missed
                    await self._read(ws)
            except (HubUnreachable, HubError, aiohttp.ClientError) as err:
                LOGGER.debug("Hub WebSocket down: %s", err)
            finally:
                self._market.set_stream_connected(False)
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break  # closed or error: reconnect
            try:
                data = json.loads(message.data)
            except ValueError:
                LOGGER.debug("Ignoring a non-JSON WebSocket message")
                continue
            if isinstance(data, dict):
                await self._market.async_handle_push(data)
