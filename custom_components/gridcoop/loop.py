"""The home loop: everything GridCoop does to the home, on a schedule.

- Every reading interval: read the devices, sign meter readings, upload them when the hub is up.
- At every market interval boundary (15 minutes for an island home): plan again when the
  15-minute slot moved on or something changed, bid for the next interval whose gate is open,
  carry out the dispatch of the interval that starts now, and refresh the "now" sensors.
- When the hub's market data changes: dispatch an allocation that arrived for the interval under
  way; after an outage, plan and bid at once.

It runs whether or not the hub answers: planning goes on against the grid tariff, readings are
buffered, and only the market side waits for the hub.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gridcoop_home.client.errors import HubError, HubUnreachable
from gridcoop_home.planner import Plan, PlannerInputError, plan
from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.bids import BidCurves
from gridcoop_home.protocol.dispatch import plan_commands
from gridcoop_home.protocol.grid_limit import GridLimit
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import (
    CONF_FEED_IN_PRICE,
    CONF_GRID_LIMIT_KW,
    CONF_PEAK_KW,
    CONF_RETAIL_PRICE,
    DEFAULT_GRID_LIMIT_KW,
    DOMAIN,
    ISSUE_SOURCE_MISSING,
    LOGGER,
    PV,
)
from .coordinator import HomeCoordinator, HomeState
from .devices import DeviceConfig
from .dispatch import Dispatcher
from .history import async_base_load_history
from .money import MINOR_PER_MAJOR
from .plan_inputs import PlanInputReader
from .planning import (
    SLOT,
    TariffSlot,
    build_request,
    cap_buying,
    plan_energies,
    slot_floor,
)
from .settings import Settings
from .sources import DeviceSnapshot, SunSpecPool, read_device

if TYPE_CHECKING:
    from .data import GridCoopConfigEntry
    from .hub_link import HubLink

BASE_LOAD_REFRESH = timedelta(hours=1)
ISLAND_INTERVAL = int(SLOT.total_seconds())
KNOWN_LIMIT_SLOTS = 4  # the hub sends a grid limit with an allocation: the next hour at most


class HomeLoop:
    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridCoopConfigEntry,
        *,
        home: HomeCoordinator,
        devices: dict[str, DeviceConfig],
        settings: Settings,
        pool: SunSpecPool,
        dispatcher: Dispatcher,
        reading_interval: timedelta,
        hub: HubLink | None = None,
        planner: Callable[[Any], Plan] = plan,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.home = home
        self.devices = devices
        self.settings = settings
        self.pool = pool
        self.dispatcher = dispatcher
        self.hub = hub
        self._reading_interval = reading_interval
        self._planner = planner
        self._replan = True
        self._hub_was_up = hub is not None and hub.market.hub_up
        self._dispatched: set[int] = set()  # interval starts whose dispatch was carried out
        self._island_plan: Plan | None = None  # the plan an island dispatch came from
        self._base_load: tuple[tuple[datetime, float], ...] = ()
        self._base_load_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._bid_plan: Plan | None = None  # the plan the last bid came from
        self.inputs = PlanInputReader(hass, entry)

    # -- schedule ------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """First reading, plan and bid now; then on the schedule."""
        await self.read_devices()
        await self.upload_readings()
        await self.step()
        self._unsubscribe.append(
            async_track_time_interval(self.hass, self._on_reading_time, self._reading_interval)
        )
        self._schedule_boundary()
        if self.hub is not None:
            self._unsubscribe.append(self.hub.market.async_add_listener(self._on_market))

    @callback
    def async_stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    @property
    def interval_seconds(self) -> int:
        if self.hub is not None and self.hub.market.data is not None:
            return self.hub.market.data.interval_seconds
        return ISLAND_INTERVAL

    def _schedule_boundary(self) -> None:
        now = dt_util.utcnow().timestamp()
        seconds = self.interval_seconds
        boundary = dt_util.utc_from_timestamp(int(now) - int(now) % seconds + seconds)
        self._unsubscribe.append(
            async_track_point_in_utc_time(self.hass, self._on_boundary, boundary)
        )

    async def _on_reading_time(self, _now: datetime) -> None:
        await self.read_devices()
        await self.upload_readings()

    async def _on_boundary(self, _now: datetime) -> None:
        self._schedule_boundary()
        if self.hub is not None:
            self.hub.market.async_update_listeners()  # "now" prices move to the new interval
        await self.step()

    @callback
    def _on_market(self) -> None:
        """New market data (a poll or a push): catch up after an outage, dispatch what arrived
        for the interval under way."""
        assert self.hub is not None
        up = self.hub.market.hub_up
        recovered = up and not self._hub_was_up
        self._hub_was_up = up
        if recovered:
            LOGGER.info("The hub answers again: planning and bidding now")
            self._replan = True
        if recovered or self._undispatched_now() is not None:
            self.entry.async_create_task(self.hass, self.step(), f"{DOMAIN} step")

    def request_replan(self) -> None:
        """Settings, devices or deferrals changed: plan and bid again now."""
        self._replan = True
        self.entry.async_create_task(self.hass, self.step(), f"{DOMAIN} replan")

    def dispatch_again(self) -> None:
        """Automatic dispatch was switched on: carry out the interval under way at once (its
        command was told with `applied: false`), not only from the next interval on."""
        self._dispatched.discard(self._interval_now())
        self.request_replan()

    # -- one step ------------------------------------------------------------------------------

    async def step(self, *, force_bid: bool = False) -> BidCurves | None:
        """Plan if needed, dispatch the interval under way, bid for the next open one."""
        async with self._lock:
            await self._plan_if_needed()
            await self._dispatch_now()
            return await self._bid(force=force_bid)

    async def read_devices(self) -> None:
        snapshots = {
            sub_id: await read_device(self.hass, self.pool, device)
            for sub_id, device in self.devices.items()
        }
        self._report_missing(snapshots)
        backlog = 0
        if self.hub is not None:
            self.hub.metering.sample(self.devices, snapshots)
            backlog = len(self.hub.metering.backlog)
        self.home.update(snapshots=snapshots, backlog=backlog)

    async def upload_readings(self) -> None:
        hub = self.hub
        if hub is None or not hub.metering.backlog or not hub.market.hub_up:
            return  # keep buffering: the backlog goes up once the hub is back
        try:
            await hub.metering.upload(hub.api)
        except (HubUnreachable, HubError) as err:
            LOGGER.debug("Readings stay buffered: %s", err)
        self.home.update(backlog=len(hub.metering.backlog))

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

    # -- planning ------------------------------------------------------------------------------

    def _plan_start(self) -> datetime:
        now = dt_util.utcnow()
        if self.hub is not None and self.hub.market.data is not None:
            # Plan from the interval we can still bid for, so the first slot is the bid.
            next_open = self.hub.market.data.info.next_open_interval(now.timestamp())
            return slot_floor(dt_util.utc_from_timestamp(next_open))
        return slot_floor(now)

    async def _plan_if_needed(self) -> None:
        state = self.home.data
        start = self._plan_start()
        if not self._replan and state.plan is not None and state.plan_start == start:
            return
        self._replan = False
        result, error = await self._plan(start, state.snapshots)
        self.home.update(plan=result, plan_start=start, plan_error=error)

    def tariffs(self) -> list[TariffSlot]:
        if self.hub is not None and self.hub.market.data is not None:
            return [
                TariffSlot(t.interval_start, t.retail_price, t.feed_in_price)
                for t in self.hub.market.data.tariffs
            ]
        data = self.entry.data
        # Island entries store prices in currency/kWh; a hub entry whose hub was never reached
        # plans against a default until it answers.
        retail = float(data.get(CONF_RETAIL_PRICE, 0.30)) * MINOR_PER_MAJOR
        feed_in = float(data.get(CONF_FEED_IN_PRICE, 0.08)) * MINOR_PER_MAJOR
        return [TariffSlot(0, retail, feed_in)]

    def _clearing_history(self) -> list[tuple[datetime, float]]:
        if self.hub is None or self.hub.market.data is None:
            return []
        return [
            (dt_util.utc_from_timestamp(start), float(interval.price))
            for start, interval in sorted(self.hub.market.data.intervals.items())
            if interval.price is not None
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
        data = self.entry.data
        base_load = await self._base_load_history()
        hub_up = self.hub is not None and self.hub.market.hub_up
        tariffs = self.tariffs()
        pv_peak_w = 1000 * sum(
            float(d.get(CONF_PEAK_KW, 0)) for d in self.devices.values() if d.kind == PV
        )
        flat = sum(t.retail for t in tariffs) / max(len(tariffs), 1)
        inputs = await self.inputs.async_read(start, flat, pv_peak_w)
        try:
            request = build_request(
                start=start,
                devices=self.devices,
                snapshots=snapshots,
                settings=self.settings,
                tariffs=tariffs,
                clearing_history=self._clearing_history(),
                island=not hub_up,
                grid_limit_w=float(data.get(CONF_GRID_LIMIT_KW, DEFAULT_GRID_LIMIT_KW)) * 1000,
                latitude=self.hass.config.latitude,
                longitude=self.hass.config.longitude,
                base_load_history=base_load,
                retail=inputs.retail,
                pv_forecast_w=inputs.pv_w,
                carbon_g_per_kwh=inputs.carbon_g_per_kwh,
                grid_limits=self._known_grid_limits(start),
            )
            result = await self.hass.async_add_executor_job(self._planner, request)
        except (PlannerInputError, ValueError) as err:
            LOGGER.warning("Planner refused the home's data: %s", err)
            return None, str(err)
        # What the sources fell back on is shown with the plan's own warnings.
        warnings = (*result.warnings, *inputs.warnings)
        return dataclasses.replace(result, warnings=warnings), None

    def _known_grid_limits(self, start: datetime) -> list[GridLimit | None]:
        """The grid operator's limits the hub sent for the plan's first hour (with allocations)."""
        data = self.hub.market.data if self.hub is not None else None
        if data is None:
            return []
        limits = []
        for slot in range(KNOWN_LIMIT_SLOTS):
            at = int((start + slot * SLOT).timestamp())
            allocation = data.allocations.get(at - at % data.interval_seconds)
            limits.append(allocation.grid_limit if allocation is not None else None)
        return limits

    # -- dispatch ------------------------------------------------------------------------------

    def _interval_now(self) -> int:
        now = int(dt_util.utcnow().timestamp())
        return now - now % self.interval_seconds

    def _undispatched_now(self) -> Allocation | None:
        if self.hub is None or self.hub.market.data is None:
            return None
        now = self._interval_now()
        allocation = self.hub.market.data.allocations.get(now)
        return None if allocation is None or now in self._dispatched else allocation

    async def _dispatch_now(self) -> None:
        """The interval that runs now: the hub's allocation, or (island) the plan's first slot."""
        now = self._interval_now()
        if self.hub is None:
            result = self.home.data.plan
            # A new plan (settings changed) is dispatched at once, not at the next interval.
            if result is None or (now in self._dispatched and result is self._island_plan):
                return
            self._island_plan = result
            energies, curtailed = plan_energies(result, self.devices)
            commands = plan_commands(energies, ISLAND_INTERVAL, "island plan", curtailed)
            limit = None
        else:
            allocation = self._undispatched_now()
            if allocation is None:
                return
            commands = list(allocation.dispatch)
            limit = allocation.grid_limit
        self._dispatched = {s for s in self._dispatched if s >= now - 4 * self.interval_seconds}
        self._dispatched.add(now)
        base_w = self._base_load[-1][1] if self._base_load else 0.0  # the latest hour's mean
        told = await self.dispatcher.async_handle(
            commands, now, self.home.data.snapshots, limit, base_w
        )
        self.home.update(dispatch=told, dispatch_interval=now)

    # -- bidding -------------------------------------------------------------------------------

    async def _bid(self, *, force: bool) -> BidCurves | None:
        hub, result = self.hub, self.home.data.plan
        if hub is None or hub.market.data is None or result is None or result.bids is None:
            return None
        if not self.settings.participate or not hub.market.hub_up:
            return None
        market = hub.market.data
        interval = market.info.next_open_interval(dt_util.utcnow().timestamp())
        if not force and self.home.data.last_bid == interval and not self._replanned_since_bid:
            return None
        curves = result.bids.scaled(market.interval_seconds / SLOT.total_seconds())
        cap = self.settings.daily_cap
        if cap > 0 and hub.book.today("spent_mminor") >= cap * 100_000:
            curves = cap_buying(curves)
        if not curves.buy and not curves.sell:
            return None
        try:
            await hub.api.submit_bid(interval, curves)
        except (HubUnreachable, HubError) as err:
            LOGGER.debug("Bid for %s not submitted: %s", interval, err)
            if force:
                raise
            return None
        self._bid_plan = result
        self.home.update(last_bid=interval)
        return curves

    @property
    def _replanned_since_bid(self) -> bool:
        return self._bid_plan is not self.home.data.plan

    async def async_submit_bid_now(self) -> int:
        """Plan again and (re)submit the bid for the next open interval: its start."""
        hub = self.hub
        if hub is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="island_no_bid")
        if not hub.market.hub_up:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="hub_unreachable",
                translation_placeholders={"url": hub.api.base_url},
            )
        self._replan = True
        try:
            curves = await self.step(force_bid=True)
        except HubUnreachable as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="hub_unreachable",
                translation_placeholders={"url": hub.api.base_url},
            ) from err
        except HubError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="bid_refused",
                translation_placeholders={"reason": err.reason},
            ) from err
        state: HomeState = self.home.data
        if state.plan is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_plan")
        if curves is None or state.last_bid is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="nothing_to_bid")
        return state.last_bid
