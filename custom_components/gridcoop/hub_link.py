"""The home's link to its hub: the typed API, the market and ledger coordinators, the
allocation book, the meter readings and the WebSocket. An island home has none.

`make_client` and `make_ledger_client` are the one place hub clients are built (tests replace
them to simulate a hub).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
from gridcoop_home.client.api import HubApi
from gridcoop_home.client.errors import BadResponse, HubError, HubUnreachable
from gridcoop_home.client.hub import HubClient
from gridcoop_home.client.ledger import LedgerClient
from gridcoop_home.protocol.keys import SigningKey
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .book import AllocationBook
from .const import LOGGER
from .coordinator import LedgerCoordinator, MarketCoordinator
from .metering import Metering

MIN_BACKOFF = 1.0
MAX_BACKOFF = 300.0


def make_client(hass: HomeAssistant, url: str, home_key: SigningKey | None = None) -> HubApi:
    return HubApi(HubClient(async_get_clientsession(hass), url, home_key=home_key))


def make_ledger_client(api: HubApi, home_id: str, home_key: SigningKey | None) -> LedgerClient:
    """The ledger API over the same transport, so signed requests share its sequence."""
    return LedgerClient(api.transport, home_id, home_key)


class HubStream:
    """The hub's WebSocket: market news and this home's allocations, pushed as they clear.

    Reconnects with exponential backoff. When it drops, the market is polled at once, so a hub
    that went away shows as unavailable within seconds, not at the next scheduled poll.
    """

    def __init__(self, api: HubApi, market: MarketCoordinator) -> None:
        self._api = api
        self._market = market
        self.reconnects = 0

    async def run(self) -> None:
        delay = MIN_BACKOFF
        while True:
            try:
                async with self._api.stream() as messages:
                    self._market.set_stream_connected(True)
                    delay = MIN_BACKOFF
                    await self._market.async_refresh()  # catch up on what was missed
                    async for pushed in messages:
                        self._market.apply_push(pushed)
            except BadResponse as err:
                LOGGER.warning("The hub pushed a message this home cannot read: %s", err)
            except (HubUnreachable, HubError, aiohttp.ClientError) as err:
                LOGGER.debug("Hub WebSocket down: %s", err)
            self._market.set_stream_connected(False)
            await self._market.async_refresh()  # dropped: ask the hub now, not in 5 minutes
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)


@dataclass
class HubLink:
    api: HubApi
    market: MarketCoordinator
    ledger: LedgerCoordinator
    book: AllocationBook
    metering: Metering
    stream: HubStream = field(init=False)

    def __post_init__(self) -> None:
        self.stream = HubStream(self.api, self.market)
