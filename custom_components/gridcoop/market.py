"""The hub connection: market data by polling (the fallback) and by WebSocket push."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable
from gridcoop_home.protocol.dispatch import DispatchCommand
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .book import AllocationBook
from .const import (
    CONF_URL,
    DEFAULT_OUTAGE_MINUTES,
    DOMAIN,
    ISSUE_HUB_UNREACHABLE,
    LOGGER,
    OPT_OUTAGE_MINUTES,
    PROTOCOL_VERSION,
    SIGNAL_CLEARED,
)
from .dispatch import Dispatcher

if TYPE_CHECKING:
    from .data import GridCoopConfigEntry

# The hub refuses the home itself: only a new join code (reauth) helps.
AUTH_REASONS = {"home_revoked", "unknown_key", "revoked_key"}
PUSH_POLL_INTERVAL = timedelta(minutes=5)  # while the WebSocket pushes, polling only double-checks


@dataclass(frozen=True, slots=True)
class MarketData:
    info: dict[str, Any]
    tariffs: tuple[dict[str, Any], ...]
    intervals: dict[int, dict[str, Any]] = field(default_factory=dict)  # by interval start
    allocations: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def interval_seconds(self) -> int:
        return int(self.info.get("interval_seconds", 900))

    def cleared_price(self, interval_start: int) -> int | None:
        interval = self.intervals.get(interval_start)
        return None if interval is None else interval.get("price")

    def grid_prices(self, interval_start: int) -> tuple[int, int]:
        """(retail, feed-in) for an interval: its cleared result, else the tariff, else now."""
        if (interval := self.intervals.get(interval_start)) is not None:
            return int(interval["retail_price"]), int(interval["feed_in_price"])
        for slot in self.tariffs:
            if slot["interval_start"] == interval_start:
                return int(slot["retail_price"]), int(slot["feed_in_price"])
        return int(self.info.get("retail_price", 0)), int(self.info.get("feed_in_price", 0))

    def next_open_interval(self, now: float) -> int:
        seconds = self.interval_seconds
        gate = int(self.info.get("gate_closure_seconds", 60))
        start = int(now) - int(now) % seconds + seconds
        while start - gate <= now:
            start += seconds
        return start


class MarketCoordinator(DataUpdateCoordinator[MarketData]):
    config_entry: GridCoopConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridCoopConfigEntry,
        client: HubClient,
        book: AllocationBook,
        dispatcher: Dispatcher,
        poll_interval: timedelta,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} market",
            update_interval=poll_interval,
        )
        self.client = client
        self.book = book
        self.dispatcher = dispatcher
        self._poll_interval = poll_interval
        self.stream_connected = False
        self.down_since: datetime | None = None

    # -- polling -------------------------------------------------------------------------------

    async def _async_update_data(self) -> MarketData:
        try:
            info = await self.client.info()
            tariffs = await self.client.tariffs(96)
            intervals = await self.client.intervals(limit=96)
            allocations = await self.client.results(limit=96)
        except HubUnreachable as err:
            self._note_outage()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="hub_unreachable",
                translation_placeholders={"url": self.client.base_url},
            ) from err
        except HubError as err:
            if err.reason in AUTH_REASONS:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="home_revoked"
                ) from err
            self._note_outage()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="hub_error",
                translation_placeholders={"reason": err.reason},
            ) from err
        if info.get("protocol_version") != PROTOCOL_VERSION:
            self._note_outage()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="incompatible_hub",
                translation_placeholders={"version": str(info.get("protocol_version"))},
            )
        self._note_recovery()
        data = MarketData(
            info=info,
            tariffs=tuple(tariffs["tariffs"]),
            intervals={int(i["interval_start"]): i for i in intervals},
            allocations={int(a["interval_start"]): a for a in allocations},
        )
        for start in sorted(data.allocations):
            await self._handle_allocation(data, data.allocations[start])
        return data

    # -- push ----------------------------------------------------------------------------------

    def set_stream_connected(self, connected: bool) -> None:
        """While the WebSocket is up, poll rarely; when it drops, poll at the normal rate."""
        self.stream_connected = connected
        self.update_interval = PUSH_POLL_INTERVAL if connected else self._poll_interval

    async def async_handle_push(self, message: dict[str, Any]) -> None:
        if self.data is None:
            return  # not set up yet: the first poll fetches everything anyway
        kind = message.get("type")
        if kind == "interval_cleared":
            interval = message["interval"]
            start = int(interval["interval_start"])
            data = replace(self.data, intervals={**self.data.intervals, start: interval})
            self.async_set_updated_data(data)
            async_dispatcher_send(
                self.hass, SIGNAL_CLEARED.format(self.config_entry.entry_id), interval
            )
        elif kind == "allocation":
            allocation = message["allocation"]
            start = int(allocation["interval_start"])
            data = replace(self.data, allocations={**self.data.allocations, start: allocation})
            await self._handle_allocation(data, allocation)
            self.async_set_updated_data(data)

    async def _handle_allocation(self, data: MarketData, allocation: dict[str, Any]) -> None:
        start = int(allocation["interval_start"])
        retail, feed_in = data.grid_prices(start)
        if not self.book.add(allocation, retail, feed_in):
            return
        # Commands for an interval that is already over are history, not instructions.
        if start + data.interval_seconds <= dt_util.utcnow().timestamp():
            return
        commands = [DispatchCommand.from_wire(c) for c in allocation.get("dispatch", [])]
        await self.dispatcher.async_handle(commands, start)

    # -- outage --------------------------------------------------------------------------------

    def _note_outage(self) -> None:
        now = dt_util.utcnow()
        if self.down_since is None:
            self.down_since = now
        minutes = self.config_entry.options.get(OPT_OUTAGE_MINUTES, DEFAULT_OUTAGE_MINUTES)
        if now - self.down_since >= timedelta(minutes=minutes):
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                ISSUE_HUB_UNREACHABLE.format(self.config_entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="hub_unreachable",
                translation_placeholders={
                    "url": self.config_entry.data[CONF_URL],
                    "minutes": str(minutes),
                },
            )

    def _note_recovery(self) -> None:
        if self.down_since is not None:
            self.down_since = None
            ir.async_delete_issue(
                self.hass, DOMAIN, ISSUE_HUB_UNREACHABLE.format(self.config_entry.entry_id)
            )
