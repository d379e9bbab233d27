"""The agent's loop: the integration's home loop (custom_components/gridcoop/loop.py) without
Home Assistant.

- Every reading interval: read the meters, sign the readings, upload them when the hub answers.
- Every market step (at each interval boundary, and every 30 s between): ask the hub for its
  clock, tariffs, cleared intervals and this home's allocations; when the interval the home can
  still bid for moved on, plan and bid for it; publish the price and the dispatch of the
  interval under way.

The hub may be away at any time: readings stay buffered, hub calls back off exponentially (1 s up
to 5 minutes), and nothing in the loop ends the process but a stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gridcoop_home.agent.config import AgentConfig
from gridcoop_home.agent.metering import Metering, read_battery_soc
from gridcoop_home.agent.mqtt import MqttLink
from gridcoop_home.agent.planning import Market, build_request, slot_floor
from gridcoop_home.agent.state import HomeState
from gridcoop_home.agent.topics import bid_topic, dispatch_topic, price_topic
from gridcoop_home.client.api import HubApi
from gridcoop_home.client.errors import HubError, HubUnreachable
from gridcoop_home.client.models import HubInfo
from gridcoop_home.planner import Plan, PlannerInputError, plan
from gridcoop_home.protocol.allocation import Allocation

LOGGER = logging.getLogger("gridcoop_home.agent")
MIN_BACKOFF = 1.0
MAX_BACKOFF = 300.0
MARKET_POLL = 30.0
RETAINED_GRACE = 0.5


class Backoff:
    """1 s, 2 s, 4 s … up to 5 minutes while something fails; back to 1 s once it works."""

    def __init__(self, low: float = MIN_BACKOFF, high: float = MAX_BACKOFF) -> None:
        self.low, self.high = low, high
        self.delay = low
        self.retry_at = 0.0

    def failed(self, now: float) -> float:
        wait = self.delay
        self.retry_at = now + wait
        self.delay = min(self.delay * 2, self.high)
        return wait

    def succeeded(self) -> None:
        self.delay, self.retry_at = self.low, 0.0


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        api: HubApi,
        metering: Metering,
        state: HomeState,
        mqtt: MqttLink | None,
        planner: Callable[[Any], Plan] = plan,
    ) -> None:
        self.config = config
        self.api = api
        self.metering = metering
        self.state = state
        self.mqtt = mqtt
        self._planner = planner
        self._upload_backoff = Backoff()
        self._market_backoff = Backoff()
        self._hub_up: bool | None = None
        self.bid_interval: int | None = None  # the interval the last bid was for
        self.dispatched: int | None = None  # the interval whose dispatch was published
        self.last_plan: Plan | None = None

    # -- the two loops -------------------------------------------------------------------------

    async def run(self) -> None:
        tasks = []
        if self.mqtt is not None:
            tasks.append(asyncio.create_task(self.mqtt.run()))
            try:  # the first readings come from MQTT: give the broker a moment
                await asyncio.wait_for(self.mqtt.connected.wait(), 5)
                await asyncio.sleep(RETAINED_GRACE)  # retained values arrive after subscribing
            except TimeoutError:
                LOGGER.warning("MQTT broker not connected yet: going on, it will retry")
        tasks += [
            asyncio.create_task(self._readings_loop()),
            asyncio.create_task(self._market_loop()),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _readings_loop(self) -> None:
        while True:
            try:
                await self.read_and_upload()
            except Exception:  # never crash: readings go on at the next interval
                LOGGER.exception("Reading the meters failed; trying again")
            await asyncio.sleep(self.config.reading_interval_seconds)

    async def _market_loop(self) -> None:
        while True:
            try:
                info = await self.market_step()
            except (HubUnreachable, HubError) as err:
                self._hub_changed(False, err)
                await asyncio.sleep(self._market_backoff.failed(time.monotonic()))
                continue
            except Exception:  # never crash: a bug in one step must not stop the home
                LOGGER.exception("Market step failed; trying again")
                await asyncio.sleep(self._market_backoff.failed(time.monotonic()))
                continue
            self._hub_changed(True)
            self._market_backoff.succeeded()
            now = time.time()
            boundary = info.interval_start_of(now) + info.interval_seconds
            await asyncio.sleep(min(max(boundary - now, 0) + 0.5, MARKET_POLL))

    def _hub_changed(self, up: bool, err: Exception | None = None) -> None:
        if up and self._hub_up is False:
            LOGGER.info("The hub answers again")
        elif not up and self._hub_up is not False:
            LOGGER.warning("Hub %s not usable, retrying with backoff: %s", self.api.base_url, err)
        self._hub_up = up

    # -- readings ------------------------------------------------------------------------------

    async def read_and_upload(self) -> None:
        battery = self.config.battery
        if battery is not None and battery.modbus is not None:
            await read_battery_soc(self.metering.pool, battery.modbus, self.state)
        await self.metering.sample()
        if not self.metering.backlog or time.monotonic() < self._upload_backoff.retry_at:
            return  # nothing to send, or the hub failed a moment ago: keep buffering
        try:
            await self.metering.upload(self.api)
        except (HubUnreachable, HubError) as err:
            wait = self._upload_backoff.failed(time.monotonic())
            LOGGER.info(
                "%s readings buffered (retry in %.0f s): %s", len(self.metering.backlog), wait, err
            )
            return
        self._upload_backoff.succeeded()

    # -- market --------------------------------------------------------------------------------

    async def market_step(self) -> HubInfo:
        """Plan and bid when the open interval moved on; publish price and dispatch now."""
        info = await self.api.info()
        now = time.time()
        market = Market(await self.api.tariffs(), await self.api.intervals(limit=96))
        next_open = info.next_open_interval(now)
        if self.bid_interval != next_open:
            await self._plan_and_bid(info, market, next_open)
        await self._publish_price(info, market, now)
        await self._publish_dispatch(info, now)
        return info

    async def _plan_and_bid(self, info: HubInfo, market: Market, interval: int) -> None:
        start = slot_floor(datetime.fromtimestamp(interval, UTC))
        try:
            request = build_request(self.config, self.state, market, start)
            result = await asyncio.to_thread(self._planner, request)
        except (PlannerInputError, ValueError) as err:
            LOGGER.warning("The planner refused the home's data: %s", err)
            self.bid_interval = interval  # not again until the next interval
            return
        self.last_plan = result
        self.bid_interval = interval
        if not self.config.site.participate or result.bids is None:
            return
        curves = result.bids.scaled(info.interval_seconds / 900)
        if not curves.buy and not curves.sell:
            return
        try:
            receipt = await self.api.submit_bid(interval, curves)
        except HubError as err:  # refused (gate closed, bad curve): HubUnreachable goes up
            LOGGER.warning("The hub refused the bid for %s: %s", interval, err)
            return
        LOGGER.info("Bid for %s %s", interval, receipt.status)
        bid = {"interval_start": interval, **curves.to_wire()}
        await self._publish(bid_topic(self._prefix), bid)

    async def _publish_price(self, info: HubInfo, market: Market, now: float) -> None:
        current = info.interval_start_of(now)
        cleared = next((i for i in market.intervals if i.interval_start == current), None)
        tariff = next(
            (t for t in reversed(market.tariffs) if t.interval_start <= current),
            None,
        )
        retail = tariff.retail_price if tariff else info.retail_price
        feed_in = tariff.feed_in_price if tariff else info.feed_in_price
        await self._publish(
            price_topic(self._prefix),
            {
                "interval_start": current,
                "interval_end": current + info.interval_seconds,
                "price": cleared.price if cleared else None,
                "retail_price": retail,
                "feed_in_price": feed_in,
                "currency": info.currency,
                "unit": "minor/kWh",
            },
        )

    async def _publish_dispatch(self, info: HubInfo, now: float) -> None:
        current = info.interval_start_of(now)
        if self.dispatched == current:
            return
        allocations = await self.api.results(limit=4)
        allocation = next((a for a in allocations if a.interval_start == current), None)
        if allocation is None:
            return
        self.dispatched = current
        for topic, payload in dispatch_messages(self._prefix, allocation, info.interval_seconds):
            await self._publish(topic, payload)

    @property
    def _prefix(self) -> str:
        return self.config.mqtt.prefix if self.config.mqtt else ""

    async def _publish(self, topic: str, payload: dict[str, Any]) -> None:
        if self.mqtt is not None:
            await self.mqtt.publish(topic, payload)


def dispatch_messages(
    prefix: str, allocation: Allocation, interval_seconds: int
) -> list[tuple[str, dict[str, Any]]]:
    """One retained message per device of the allocation: the command and its interval."""
    start = allocation.interval_start
    return [
        (
            dispatch_topic(prefix, command.device),
            {
                **command.to_wire(),
                "setpoint_w": command.signed_power_w,
                "interval_start": start,
                "interval_end": start + interval_seconds,
            },
        )
        for command in allocation.dispatch
    ]
