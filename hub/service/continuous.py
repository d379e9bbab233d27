"""Continuous mode in the running hub: one order book per open interval, its log, its settlement.

Orders and cancellations are applied to the interval's book (hub.market.OrderBook) and logged in
the store (order_events) in arrival order, under one lock. The book is deterministic, so replaying
an interval's log rebuilds it exactly: after a restart (on first use) and whenever logging an
event failed. At gate closure `settle` closes the book and returns the periodic market's shape, a
ClearingResult plus one *derived bid* per home (its orders as one curve, with their assets), so
the clearing service builds the same records, dispatch and ledger entries as in periodic mode.

With a feeder, every match is checked against the network (FeederHeadroom, via BusHeadroom).
Public trade news goes out on the WebSocket without home ids; each home hears of its own fills.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.canonical import digest
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.orders import OrderBody

from hub.config import HubConfig
from hub.grid import Feeder
from hub.logs import get_logger
from hub.market import (
    ClearingResult,
    FeederHeadroom,
    Headroom,
    LimitOrder,
    MarketRules,
    OrderBook,
    Settlement,
    Side,
    Step,
    Submission,
    Trade,
)
from hub.service.network import home_buses
from hub.service.ports import Clock, Publisher
from hub.store import Store
from hub.store.records import HomeRecord, OrderEvent, StoredBid

_LOGGER = get_logger(__name__)
KEEP_CLOSED_SECONDS = 7 * 24 * 3600  # how long a settled interval is remembered as closed


def check_gate_open(config: HubConfig, now: float, interval_start: int) -> None:
    """Bids and orders are taken for aligned intervals whose gate is open, up to the horizon."""
    if interval_start % config.interval_seconds:
        raise ProtocolError(
            errors.INTERVAL_MISALIGNED,
            f"interval_start must be a multiple of {config.interval_seconds} s",
        )
    gate = config.gate_closure_of(interval_start)
    if now >= gate:
        raise ProtocolError(
            errors.GATE_CLOSED,
            f"gate for interval {interval_start} closed at {gate} ({int(now - gate)} s ago)",
        )
    if interval_start > now + config.bid_horizon_seconds:
        raise ProtocolError(
            errors.INTERVAL_TOO_FAR,
            f"bids and orders are accepted at most {config.bid_horizon_seconds} s ahead",
        )


class BusHeadroom:
    """FeederHeadroom for homes that may still enrol while a book is open.

    FeederHeadroom knows the homes its feeder had when it was made. Here every bus is a
    pseudo-home of one FeederHeadroom, and a home is looked up on its bus when the book asks
    (`buses` is shared and grows as homes place orders). A home without a bus gets no headroom.
    """

    def __init__(self, feeder: Feeder, buses: Mapping[str, int], config: HubConfig) -> None:
        self._buses = buses
        by_bus = feeder.with_homes({_bus_key(bus): bus for bus in feeder.bus_ids})
        self._inner = FeederHeadroom(
            by_bus,
            config.dispatch_seconds,
            margin_pu=config.network.voltage_margin_pu,
            loading_limit=config.network.loading_limit,
        )

    def available_wh(self, buyer: str, seller: str) -> int:
        buyer_bus, seller_bus = self._buses.get(buyer), self._buses.get(seller)
        if buyer_bus is None or seller_bus is None:
            return 0
        return self._inner.available_wh(_bus_key(buyer_bus), _bus_key(seller_bus))

    def commit(self, buyer: str, seller: str, energy_wh: int) -> None:
        self._inner.commit(_bus_key(self._buses[buyer]), _bus_key(self._buses[seller]), energy_wh)


def _bus_key(bus: int) -> str:
    return f"bus:{bus}"


@dataclass(frozen=True, slots=True)
class OrderMeta:
    """What the book does not keep about an order: its device and its signed message."""

    home_id: str
    asset: str
    key_id: str
    seq: int
    ts: int
    digest: str


@dataclass(slots=True)
class _Interval:
    book: OrderBook
    meta: dict[str, OrderMeta] = field(default_factory=dict)  # order id -> meta, arrival order


@dataclass(frozen=True, slots=True)
class Settled:
    """An interval's continuous trading in the periodic market's shape."""

    rules: MarketRules
    clearing: ClearingResult
    bids: list[StoredBid]  # one derived bid per participating home, by home id


class ContinuousMarket:
    def __init__(
        self, config: HubConfig, store: Store, broadcaster: Publisher, clock: Clock
    ) -> None:
        self._config = config
        self._store = store
        self._broadcaster = broadcaster
        self._clock = clock
        self._lock = asyncio.Lock()
        self._open: dict[int, _Interval] = {}
        self._closed: set[int] = set()
        self._buses: dict[str, int] = {}  # home -> bus, shared by every book's BusHeadroom

    def update_config(self, config: HubConfig) -> None:
        """New fee or tariffs apply to books opened from now on."""
        self._config = config

    def forget_books(self) -> None:
        """Drop the books in memory; each is rebuilt from the order log on next use.

        With several workers only the leader takes orders (docs/hub/scale_out.md). A newly elected
        leader forgets what it knew, since the previous leader logged orders after that, and a
        follower forgets after each push so its order book views follow the log."""
        self._open.clear()
        self._closed.clear()

    async def submit(self, home: HomeRecord, message: SignedMessage, body: OrderBody) -> Submission:
        """Match an order (checked: signed, well-formed) against its interval's book and log it.
        Raises ProtocolError: gate closed, duplicate id, crossing the home's own orders, replay."""
        start, order_id = body.interval_start, body.order_id(home.home_id)
        async with self._lock:
            now = self._clock()
            self._check_open(start, now)
            interval = await self._interval(start)
            if order_id in interval.meta or await self._store.order_interval(order_id) is not None:
                raise ProtocolError(
                    errors.DUPLICATE_ORDER, f"order {order_id!r} exists already; ids are used once"
                )
            self._place(home)
            order = LimitOrder(order_id, home.home_id, Side(body.side), body.price, body.energy_wh)
            try:
                submission = interval.book.submit(order)
            except ValueError as err:  # crosses the home's own orders (the rest is checked)
                raise ProtocolError(errors.CURVES_CROSS, str(err)) from err
            interval.meta[order_id] = OrderMeta(
                home.home_id, body.asset, message.key_id, message.seq, message.ts, message.digest
            )
            try:
                await self._store.save_order(
                    home.home_id, order_id, message, start, int(now * 1000)
                )
            except BaseException:
                self._open.pop(start, None)  # the log is the truth: rebuild from it next time
                raise
        await self._announce(start, interval.book, submission.trades)
        return submission

    async def cancel(self, home_id: str, order_id: str) -> tuple[int, int]:
        """Withdraw what is left of one of the home's orders: (interval start, Wh withdrawn)."""
        async with self._lock:
            start = await self._store.order_interval(order_id)
            if start is None or not order_id.startswith(f"{home_id}:"):
                raise ProtocolError(errors.UNKNOWN_ORDER, f"this home has no order {order_id!r}")
            now = self._clock()
            self._check_open(start, now)
            interval = await self._interval(start)
            withdrawn = interval.book.cancel(order_id)
            if withdrawn:
                try:
                    await self._store.save_cancel(home_id, order_id, start, int(now * 1000))
                except BaseException:
                    self._open.pop(start, None)
                    raise
        return start, withdrawn

    async def trades(self, interval_start: int) -> tuple[Trade, ...]:
        """The trades of an open interval so far (its book is rebuilt from the log if needed)."""
        async with self._lock:
            return (await self._interval(interval_start)).book.trades

    async def settle(self, interval_start: int, now_ms: int) -> Settled:
        """Close the interval's book for good and settle it."""
        async with self._lock:
            interval = await self._interval(interval_start)
            del self._open[interval_start]
            self._closed.add(interval_start)
            self._closed = {s for s in self._closed if s > interval_start - KEEP_CLOSED_SECONDS}
        settlement = interval.book.settle()
        return Settled(
            interval.book.rules,
            settlement.clearing,
            derived_bids(interval_start, settlement, interval.meta, now_ms),
        )

    def _check_open(self, interval_start: int, now: float) -> None:
        check_gate_open(self._config, now, interval_start)
        if interval_start in self._closed:
            raise ProtocolError(errors.GATE_CLOSED, f"interval {interval_start} is settled")

    def _place(self, home: HomeRecord) -> None:
        feeder = self._config.network.feeder
        if feeder is not None and home.bus is not None:
            self._buses.update(home_buses(feeder, {home.home_id: home.bus}))

    async def _interval(self, interval_start: int) -> _Interval:
        """The interval's book: in memory, or rebuilt by replaying its log."""
        interval = self._open.get(interval_start)
        if interval is not None:
            return interval
        feeder = self._config.network.feeder
        headroom: Headroom | None = None
        if feeder is not None:
            self._buses.update(home_buses(feeder, await self._store.home_buses()))
            headroom = BusHeadroom(feeder, self._buses, self._config)
        interval = _Interval(OrderBook(self._config.market_rules(interval_start), headroom))
        events = await self._store.order_events(interval_start)
        replay(interval, events)
        if events:
            _LOGGER.info(
                "order book rebuilt from its log",
                extra={"interval_start": interval_start, "events": len(events)},
            )
        self._open[interval_start] = interval
        return interval

    async def _announce(
        self, interval_start: int, book: OrderBook, trades: tuple[Trade, ...]
    ) -> None:
        if not trades:
            return
        volume: dict[int, int] = {}
        for trade in trades:
            volume[trade.price] = volume.get(trade.price, 0) + trade.energy_wh
        await self._broadcaster.publish(
            {
                "type": "trade",
                "interval_start": interval_start,
                "trades": [{"price": p, "energy_wh": e} for p, e in sorted(volume.items())],
                "volume_wh": sum(volume.values()),
                "best_bid": book.best_bid(),
                "best_ask": book.best_ask(),
            }
        )
        for trade in trades:
            for home_id, order_id, side in (
                (trade.buyer, trade.buy_order_id, "buy"),
                (trade.seller, trade.sell_order_id, "sell"),
            ):
                fill = {
                    "interval_start": interval_start,
                    "order_id": order_id,
                    "side": side,
                    "price": trade.price,
                    "energy_wh": trade.energy_wh,
                    "resting_wh": book.resting_wh(order_id),
                }
                await self._broadcaster.send_to_home(home_id, {"type": "fill", "fill": fill})


def replay(interval: _Interval, events: list[OrderEvent]) -> None:
    """Apply an interval's logged orders and cancellations in their order."""
    for event in events:
        if event.kind == "cancel":
            interval.book.cancel(event.order_id)
            continue
        assert event.body is not None and event.key_id is not None
        assert event.seq is not None and event.ts is not None and event.digest is not None
        body = event.body
        interval.book.submit(
            LimitOrder(
                event.order_id, event.home_id, Side(body["side"]), body["price"], body["energy_wh"]
            )
        )
        interval.meta[event.order_id] = OrderMeta(
            event.home_id,
            body.get("asset", "base"),
            event.key_id,
            event.seq,
            event.ts,
            event.digest,
        )


def derived_bids(
    interval_start: int,
    settlement: Settlement,
    meta: Mapping[str, OrderMeta],
    now_ms: int,
) -> list[StoredBid]:
    """Each home's orders as one bid: the settled curve with the orders' assets, signed-for by
    the home's last order (key, sequence, time); its digest is that of the home's order digests
    in arrival order, so anyone holding the orders can check it."""
    bids = []
    for curve in settlement.orders:
        buy_ids, sell_ids = settlement.step_orders[curve.home_id]
        body = {
            "interval_start": interval_start,
            "buy": _steps(curve.buy, buy_ids, meta),
            "sell": _steps(curve.sell, sell_ids, meta),
        }
        orders = [m for m in meta.values() if m.home_id == curve.home_id]
        last = orders[-1]
        bids.append(
            StoredBid(
                home_id=curve.home_id,
                interval_start=interval_start,
                key_id=last.key_id,
                seq=last.seq,
                ts=last.ts,
                body=body,
                digest=digest({"orders": [m.digest for m in orders]}),
                sig="",  # derived, not signed: the orders carry the signatures
                received_at=now_ms,
            )
        )
    return bids


def _steps(
    steps: tuple[Step, ...], order_ids: tuple[str, ...], meta: Mapping[str, OrderMeta]
) -> list[dict[str, Any]]:
    return [
        {"price": step.price, "energy_wh": step.energy_wh, "asset": meta[order_id].asset}
        for step, order_id in zip(steps, order_ids, strict=True)
    ]
