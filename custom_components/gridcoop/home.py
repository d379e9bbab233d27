"""The home loop: read devices, upload signed readings, plan, bid; island dispatch.

It runs every reading interval whether or not the hub answers: planning goes on against the grid
tariff, readings are buffered, and only the market side waits for the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable
from gridcoop_home.planner import Plan, PlannerInputError, plan
from gridcoop_home.protocol.dispatch import DispatchCommand
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    BATTERY,
    CONF_FEED_IN_PRICE,
    CONF_GRID_LIMIT_KW,
    CONF_RETAIL_PRICE,
    DEFAULT_GRID_LIMIT_KW,
    DOMAIN,
    EV_CHARGER,
    FLEXIBLE_LOAD,
    ISSUE_SOURCE_MISSING,
    LOGGER,
)
from .devices import DeviceConfig
from .dispatch import Dispatcher
from .history import async_base_load_history
from .market import MarketCoordinator
from .metering import Metering
from .money import MINOR_PER_MAJOR
from .planning import TariffSlot, build_request, cap_buying, scale_bids, slot_floor
from .settings import Settings
from .sources import DeviceSnapshot, SunSpecPool, read_device

if TYPE_CHECKING:
    from .data import GridCoopConfigEntry


BASE_LOAD_REFRESH = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class HomeState:
    snapshots: dict[str, DeviceSnapshot] = field(default_factory=dict)
    plan: Plan | None = None
    plan_start: datetime | None = None
    plan_error: str | None = None
    backlog: int = 0
    last_bid: dict[str, Any] | None = None


def recommended_action(result: Plan | None) -> str | None:
    """One word for what the home should do now, from the plan's first slot."""
    if result is None:
        return None
    now = result.dispatch
    if now.battery_w > 1:
        return "charge_battery"
    if now.battery_w < -1:
        return "discharge_battery"
    if now.ev_w > 1:
        return "charge_ev"
    if now.loads_on:
        return "run_flexible_loads"
    if now.grid_w < -1:
        return "export"
    return "hold"


class HomeCoordinator(DataUpdateCoordinator[HomeState]):
    config_entry: GridCoopConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridCoopConfigEntry,
        *,
        devices: dict[str, DeviceConfig],
        settings: Settings,
        pool: SunSpecPool,
        dispatcher: Dispatcher,
        interval: timedelta,
        client: HubClient | None = None,
        market: MarketCoordinator | None = None,
        metering: Metering | None = None,
        planner: Callable[[Any], Plan] = plan,
    ) -> None:
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} home", update_interval=interval
        )
        self.devices = devices
        self.settings = settings
        self.pool = pool
        self.dispatcher = dispatcher
        self.client = client
        self.market = market
        self.metering = metering
        self._planner = planner
        self._replan = True
        self._last_bid: dict[str, Any] | None = None
        self._base_load: tuple[tuple[datetime, float], ...] = ()
        self._base_load_at: datetime | None = None

    @property
    def island(self) -> bool:
        return self.market is None

    def request_replan(self) -> None:
        """Settings changed: plan again at the next refresh."""
        self._replan = True

    async def _async_update_data(self) -> HomeState:
        snapshots = {
            sub_id: await read_device(self.hass, self.pool, device)
            for sub_id, device in self.devices.items()
        }
        self._report_missing(snapshots)
        await self._meter(snapshots)
        previous = self.data or HomeState()
        result, start, error = previous.plan, previous.plan_start, previous.plan_error
        target = self._plan_start()
        if self._replan or result is None or start != target:
            self._replan = False
            result, error = await self._plan(target, snapshots)
            start = target
            if result is not None and self.island:
                await self._dispatch_island(result, target)
        if result is not None and not self.island:
            await self._bid(result, force=False)
        backlog = len(self.metering.backlog) if self.metering else 0
        return HomeState(snapshots, result, start, error, backlog, self._last_bid)

    # -- readings ------------------------------------------------------------------------------

    def _report_missing(self, snapshots: dict[str, DeviceSnapshot]) -> None:
        for sub_id, snap in snapshots.items():
            issue_id = ISSUE_SOURCE_MISSING.format(sub_id)
            if snap.missing:
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    issue_id,
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key="source_missing",
                    translation_placeholders={
                        "device": self.devices[sub_id].title,
                        "entities": ", ".join(snap.missing),
                    },
                )
            else:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    async def _meter(self, snapshots: dict[str, DeviceSnapshot]) -> None:
        if self.metering is None or self.client is None:
            return
        self.metering.sample(self.devices, snapshots)
        if not self.metering.backlog or not self._hub_up():
            return  # keep buffering: the backlog goes up once the hub is back
        try:
            await self.metering.upload(self.client)
        except (HubUnreachable, HubError) as err:
            LOGGER.debug("Readings stay buffered: %s", err)

    def _hub_up(self) -> bool:
        return self.market is not None and self.market.last_update_success

    # -- planning ------------------------------------------------------------------------------

    def _plan_start(self) -> datetime:
        now = dt_util.utcnow()
        if self.market is not None and self.market.data is not None:
            # Plan from the interval we can still bid for, so the first slot is the bid.
            next_open = self.market.data.next_open_interval(now.timestamp())
            return slot_floor(dt_util.utc_from_timestamp(next_open))
        return slot_floor(now)

    def tariffs(self) -> list[TariffSlot]:
        if self.market is not None and self.market.data is not None:
            return [
                TariffSlot(t["interval_start"], t["retail_price"], t["feed_in_price"])
                for t in self.market.data.tariffs
            ]
        data = self.config_entry.data
        # Island entries store prices in currency/kWh; a hub entry whose hub was never reached
        # plans against its own last-known default.
        retail = float(data.get(CONF_RETAIL_PRICE, 0.30)) * MINOR_PER_MAJOR
        feed_in = float(data.get(CONF_FEED_IN_PRICE, 0.08)) * MINOR_PER_MAJOR
        return [TariffSlot(0, retail, feed_in)]

    def _clearing_history(self) -> list[tuple[datetime, float]]:
        if self.market is None or self.market.data is None:
            return []
        return [
            (dt_util.utc_from_timestamp(start), float(interval["price"]))
            for start, interval in sorted(self.market.data.intervals.items())
            if interval.get("price") is not None
        ]

    async def _base_load_history(self) -> tuple[tuple[datetime, float], ...]:
        """Hourly statistics change once an hour: ask the recorder at most that often."""
        now = dt_util.utcnow()
        if self._base_load_at is None or now - self._base_load_at >= BASE_LOAD_REFRESH:
            self._base_load = await async_base_load_history(self.hass, self.devices, now)
            self._base_load_at = now
        return self._base_load

    async def _plan(
        self, start: datetime, snapshots: dict[str, DeviceSnapshot]
    ) -> tuple[Plan | None, str | None]:
        data = self.config_entry.data
        base_load = await self._base_load_history()
        try:
            request = build_request(
                start=start,
                devices=self.devices,
                snapshots=snapshots,
                settings=self.settings,
                tariffs=self.tariffs(),
                clearing_history=self._clearing_history(),
                island=self.island or not self._hub_up(),
                grid_limit_w=float(data.get(CONF_GRID_LIMIT_KW, DEFAULT_GRID_LIMIT_KW)) * 1000,
                latitude=self.hass.config.latitude,
                longitude=self.hass.config.longitude,
                base_load_history=base_load,
            )
            return await self.hass.async_add_executor_job(self._planner, request), None
        except (PlannerInputError, ValueError) as err:
            LOGGER.warning("Planner refused the home's data: %s", err)
            return None, str(err)

    async def _dispatch_island(self, result: Plan, start: datetime) -> None:
        """No hub: the plan's first slot is the dispatch."""
        now = result.dispatch
        commands: list[DispatchCommand] = []
        for device in self.devices.values():
            if device.kind == BATTERY:
                action = (
                    "charge" if now.battery_w > 1 else "discharge" if now.battery_w < -1 else "idle"
                )
                power = abs(round(now.battery_w))
            elif device.kind == EV_CHARGER:
                action, power = ("charge", round(now.ev_w)) if now.ev_w > 1 else ("pause", 0)
            elif device.kind == FLEXIBLE_LOAD:
                running = device.load_id in now.loads_on
                action, power = ("start", 0) if running else ("defer", 0)
            else:
                continue
            assert device.asset is not None
            commands.append(DispatchCommand(device.asset, action, power, power // 4, "island plan"))
        await self.dispatcher.async_handle(commands, int(start.timestamp()))

    # -- bidding -------------------------------------------------------------------------------

    async def _bid(self, result: Plan, *, force: bool) -> dict[str, Any] | None:
        market = self.market
        if market is None or market.data is None or self.client is None:
            return None
        if not self.settings.participate or result.bids is None or not self._hub_up():
            return None
        interval = market.data.next_open_interval(dt_util.utcnow().timestamp())
        if not force and self._last_bid and self._last_bid["interval_start"] == interval:
            return self._last_bid
        curves = scale_bids(result.bids, market.data.interval_seconds)
        cap = self.settings.daily_cap
        if cap > 0 and self.market and market.book.today("spent_mminor") >= cap * 100_000:
            curves = cap_buying(curves)
        if not curves.buy and not curves.sell:
            return None
        try:
            answer = await self.client.submit_bid(interval, curves)
        except (HubUnreachable, HubError) as err:
            LOGGER.debug("Bid for %s not submitted: %s", interval, err)
            if force:
                raise
            return None
        self._last_bid = {"interval_start": interval, "status": answer.get("status")}
        return self._last_bid

    async def async_submit_bid_now(self) -> dict[str, Any]:
        """Plan again and (re)submit the bid for the next open interval."""
        if self.island:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="island_no_bid")
        self.request_replan()
        await self.async_refresh()
        if self.data is None or self.data.plan is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_plan")
        try:
            bid = await self._bid(self.data.plan, force=True)
        except HubUnreachable as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="cannot_connect"
            ) from err
        except HubError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="bid_refused",
                translation_placeholders={"reason": err.reason},
            ) from err
        if bid is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="nothing_to_bid")
        return bid
