"""Clears each interval at its gate closure, stores the result and pushes it out.

The market itself is pure (hub.market); this module only feeds it stored bids, turns allocations
into dispatch commands and persists everything in one transaction. Which market runs depends on
the `[network]` settings (docs/feeder.md):

- periodic, no feeder: clear_uniform_price held within the connection limit (clear_network on a
  one-node feeder; the merit order itself unless the limit binds);
- periodic with a feeder: clear_network (in a worker thread), with nodal prices and curtailment;
- continuous: the interval's order book (hub.service.continuous) is settled into the same shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gridcoop_home.protocol.bids import BidCurves
from gridcoop_home.protocol.dispatch import GridPrices, derive_commands
from gridcoop_home.protocol.grid_limit import GridLimit

from hub.config import HubConfig
from hub.ledger.service.sealer import LedgerService
from hub.logs import get_logger
from hub.market import (
    MAX_ABS_PRIORITY,
    ClearingResult,
    MarketRules,
    Order,
    Step,
)
from hub.service import grid_limits
from hub.service.continuous import ContinuousMarket
from hub.service.network import (
    clear_on_connection,
    clear_on_feeder,
    connection_feeder,
    home_buses,
    with_network,
)
from hub.service.ports import Clock, Publisher
from hub.store import Store
from hub.store.records import AllocationRecord, IntervalRecord, StoredBid

_LOGGER = get_logger(__name__)
ANNOUNCE_CHUNK = 500  # allocations pushed between two yields to the event loop (~5 ms)


@dataclass(frozen=True, slots=True)
class _Cleared:
    """One interval's outcome, ready to be saved in one transaction."""

    interval: IntervalRecord
    allocations: list[AllocationRecord]
    network: dict[str, Any] | None = None  # the IntervalNetwork, on a feeder
    derived_bids: list[StoredBid] = field(default_factory=list)  # continuous mode
    priorities: dict[str, int] = field(default_factory=dict)  # flexibility tokens used


def curves_of(bid: StoredBid) -> BidCurves:
    return BidCurves.from_wire(bid.body)


def order_of(home_id: str, curves: BidCurves, priority: int = 0) -> Order:
    return Order(
        home_id=home_id,
        buy=tuple(Step(s.price, s.energy_wh) for s in curves.buy),
        sell=tuple(Step(s.price, s.energy_wh) for s in curves.sell),
        priority=min(priority, MAX_ABS_PRIORITY),
    )


def build_records(
    config: HubConfig,
    interval_start: int,
    bids: Sequence[StoredBid],
    result: ClearingResult,
    rules: MarketRules,
    now_ms: int,
    limits: Mapping[str, GridLimit] | None = None,
) -> tuple[IntervalRecord, list[AllocationRecord]]:
    """The interval's records; `limits` (home_id -> grid limit) travel with the allocations."""
    interval = IntervalRecord(
        interval_start=interval_start,
        interval_end=interval_start + config.interval_seconds,
        cleared_at=now_ms,
        late=now_ms > interval_start * 1000,
        price=result.price,
        price_low=result.price_low,
        price_high=result.price_high,
        volume_wh=result.volume_wh,
        retail_price=rules.retail_price,
        feed_in_price=rules.feed_in_price,
        fee_per_kwh=rules.fee_per_kwh,
        k_percent=rules.k_percent,
        welfare_mminor=result.welfare_mminor,
        fees_mminor=result.fees_mminor,
        grid_import_wh=result.grid_import_wh,
        grid_export_wh=result.grid_export_wh,
        participants=len(bids),
    )
    bids_by_home = {bid.home_id: bid for bid in bids}
    allocations = []
    limits = limits or {}
    for alloc in result.allocations:
        bid = bids_by_home[alloc.home_id]
        curves = curves_of(bid)
        commands = derive_commands(
            curves,
            # A grid limit keeps a prefix of each curve (grid_limits.cap_order): the rest got 0.
            _padded([fill.local_wh + fill.grid_wh for fill in alloc.buy_fills], len(curves.buy)),
            _padded([fill.local_wh + fill.grid_wh for fill in alloc.sell_fills], len(curves.sell)),
            config.dispatch_seconds,
            GridPrices(rules.retail_price, rules.feed_in_price),
        )
        allocations.append(
            AllocationRecord(
                interval_start=interval_start,
                home_id=alloc.home_id,
                bought_local_wh=alloc.bought_local_wh,
                sold_local_wh=alloc.sold_local_wh,
                bought_grid_wh=alloc.bought_grid_wh,
                sold_grid_wh=alloc.sold_grid_wh,
                paid_mminor=alloc.paid_mminor,
                received_mminor=alloc.received_mminor,
                fees_mminor=alloc.fees_mminor,
                bid_digest=bid.digest,
                dispatch=tuple(commands),
                grid_limit=limits.get(alloc.home_id),
            )
        )
    return interval, allocations


def _padded(filled: list[int], steps: int) -> list[int]:
    return filled + [0] * (steps - len(filled))


def clear_periodic(
    config: HubConfig,
    interval_start: int,
    bids: Sequence[StoredBid],
    priorities: dict[str, int],
    buses: dict[str, int] | None,
    now_ms: int,
    limits: Mapping[str, GridLimit] | None = None,
) -> _Cleared:
    """Clear an interval's bids: uniform price, or within the feeder's limits when there is one
    (`buses`: home_id -> bus on it). `limits` (home_id -> the grid operator's limit) cap bids."""
    rules = config.market_rules(interval_start)
    limits = limits or {}
    orders = [_order(b, priorities, limits, config.dispatch_seconds) for b in bids]
    feeder = config.network.feeder
    if feeder is None or buses is None:
        return _clear_on_connection(
            config, interval_start, bids, orders, priorities, now_ms, limits
        )
    network = clear_on_feeder(orders, rules, feeder, buses, config)
    interval, allocations = build_records(
        config, interval_start, bids, network.clearing, rules, now_ms, limits
    )
    interval, allocations, wire = with_network(interval, allocations, network, feeder)
    return _Cleared(interval, allocations, wire, priorities=priorities)


def _order(
    bid: StoredBid, priorities: dict[str, int], limits: Mapping[str, GridLimit], seconds: int
) -> Order:
    curves, limit = curves_of(bid), limits.get(bid.home_id)
    if limit is not None:
        curves = grid_limits.cap_curves(curves, limit, seconds)
    return order_of(bid.home_id, curves, priorities.get(bid.home_id, 0))


def _clear_on_connection(
    config: HubConfig,
    interval_start: int,
    bids: Sequence[StoredBid],
    orders: list[Order],
    priorities: dict[str, int],
    now_ms: int,
    limits: Mapping[str, GridLimit],
) -> _Cleared:
    """No feeder file: the market within the neighbourhood's connection limit. While the limit
    does not bind the records are those of clear_uniform_price; when it binds they say so
    (method, binding limit, curtailment), but no IntervalNetwork is published (no feeder)."""
    rules = config.market_rules(interval_start)
    network = clear_on_connection(orders, rules, config)
    interval, allocations = build_records(
        config, interval_start, bids, network.clearing, rules, now_ms, limits
    )
    if network.method != "merit_order":
        feeder = connection_feeder(config.network.connection_kw)
        interval, allocations, _ = with_network(interval, allocations, network, feeder)
    return _Cleared(interval, allocations, priorities=priorities)


class ClearingService:
    """With a ledger, a home's flexibility tokens are its priority at the marginal price, and
    every saved interval is recorded, settled where ready and sealed into a block."""

    def __init__(
        self,
        config: HubConfig,
        store: Store,
        broadcaster: Publisher,
        clock: Clock,
        ledger: LedgerService | None = None,
    ) -> None:
        self._config = config
        self._ledger = ledger
        self._store = store
        self._broadcaster = broadcaster
        self._clock = clock
        self._lock = asyncio.Lock()
        # The order books (continuous mode only; None in periodic mode).
        self.continuous = (
            ContinuousMarket(config, store, broadcaster, clock)
            if config.network.continuous
            else None
        )

    def update_config(self, config: HubConfig) -> None:
        """New market settings (tariff, fee, k) from the admin area: used from the next clearing
        (in continuous mode: by order books opened from now on)."""
        self._config = config
        if self.continuous is not None:
            self.continuous.update_config(config)

    def rules_for(self, interval_start: int) -> MarketRules:
        return self._config.market_rules(interval_start)

    async def clear(self, interval_start: int) -> IntervalRecord | None:
        """Clear one interval. Returns None when it had already been cleared."""
        async with self._lock:
            if await self._store.get_interval(interval_start) is not None:
                return None
            now_ms = int(self._clock() * 1000)
            if self.continuous is not None:
                cleared = await self._settle_book(interval_start, now_ms)
            else:
                cleared = await self._clear_bids(interval_start, now_ms)
            interval, allocations = cleared.interval, cleared.allocations
            if not await self._store.save_clearing(
                interval, allocations, cleared.network, cleared.derived_bids
            ):
                return None
            await self._seal(interval_start, cleared.priorities)
        _LOGGER.info(
            "interval cleared",
            extra={
                "interval_start": interval_start,
                "method": interval.method,
                "fallback_reason": interval.fallback_reason,
                "price": interval.price,
                "volume_wh": interval.volume_wh,
                "participants": interval.participants,
                "late": interval.late,
            },
        )
        await self._announce(interval, allocations, cleared.network)
        return interval

    async def _clear_bids(self, interval_start: int, now_ms: int) -> _Cleared:
        """Periodic mode: the stored bids, within the feeder's limits if there is one."""
        config = self._config
        bids = await self._store.bids_for_interval(interval_start)
        flex = self._ledger.flex_priorities() if self._ledger else {}
        priorities = {b.home_id: flex[b.home_id] for b in bids if flex.get(b.home_id)}
        feeder = config.network.feeder
        buses = None if feeder is None else home_buses(feeder, await self._store.home_buses())
        limits = grid_limits.limits_for(
            grid_limits.from_setting(await self._store.get_settings()),
            [b.home_id for b in bids],
            interval_start,
            interval_start + config.interval_seconds,
        )
        # Pure, and about 0.1 ms a home: in a worker thread, so that a big neighbourhood's
        # clearing holds up the requests arriving meanwhile for a few ms at a time (the GIL's
        # switch interval), not for the whole computation.
        cleared = await asyncio.to_thread(
            clear_periodic, config, interval_start, bids, priorities, buses, now_ms, limits
        )
        if cleared.interval.fallback_reason is not None:
            _LOGGER.warning(
                "interval cleared on the backstop",
                extra={
                    "interval_start": interval_start,
                    "reason": cleared.interval.fallback_reason,
                },
            )
        return cleared

    async def _settle_book(self, interval_start: int, now_ms: int) -> _Cleared:
        """Continuous mode: the interval's order book, settled like a periodic clearing."""
        assert self.continuous is not None
        settled = await self.continuous.settle(interval_start, now_ms)
        interval, allocations = build_records(
            self._config, interval_start, settled.bids, settled.clearing, settled.rules, now_ms
        )
        return _Cleared(replace(interval, method="continuous"), allocations, None, settled.bids)

    async def _seal(self, interval_start: int, priorities: dict[str, int]) -> None:
        if self._ledger is None:
            return
        self._ledger.note_priorities(interval_start, priorities)
        try:
            await self._ledger.seal(interval_start)
        except Exception:  # the market must go on; the next seal records what this one missed
            _LOGGER.exception("sealing the ledger block failed")

    async def _announce(
        self,
        interval: IntervalRecord,
        allocations: list[AllocationRecord],
        network: dict[str, Any] | None,
    ) -> None:
        message: dict[str, Any] = {"type": "interval_cleared", "interval": interval.to_wire()}
        if network is not None:
            message["network"] = network
        await self._broadcaster.publish(message)
        for n, allocation in enumerate(allocations, 1):
            await self._broadcaster.send_to_home(
                allocation.home_id,
                {"type": "allocation", "allocation": allocation.to_wire()},
            )
            if n % ANNOUNCE_CHUNK == 0:  # sends to no one do not yield: let requests in
                await asyncio.sleep(0)

    def last_closed_interval(self, now: float) -> int:
        """The most recent interval whose gate has closed by `now`."""
        return self._config.next_open_interval(now) - self._config.interval_seconds

    async def clear_due(self) -> list[IntervalRecord]:
        """Clear the interval whose gate just closed, plus any with bids missed while down."""
        due = self.last_closed_interval(self._clock())
        if self.continuous is not None:
            starts = await self._store.uncleared_order_intervals(before_or_at=due)
        else:
            starts = await self._store.uncleared_bid_intervals(before_or_at=due)
        if due not in starts:
            starts.append(due)
        cleared = []
        for start in starts:
            record = await self.clear(start)
            if record is not None:
                cleared.append(record)
        return cleared

    async def run_forever(self) -> None:
        """Sleep until each gate closure and clear; errors are logged, never fatal."""
        while True:
            try:
                await self.clear_due()
            except Exception:  # keep the market running; the next gate retries
                _LOGGER.exception("clearing failed")
            now = self._clock()
            next_gate = self._config.gate_closure_of(self._config.next_open_interval(now))
            await asyncio.sleep(max(0.05, next_gate - now + 0.01))
