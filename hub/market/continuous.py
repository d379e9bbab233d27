"""Continuous double auction: an order book matching limit orders as they arrive.

Rules (docs/feeder.md, "Continuous mode"):

1. Prices are compared as in the uniform market: a buy order is worth min(price, retail) - fee
   locally, a sell order costs max(price, feed_in) + fee. An order matches the best resting orders
   of the other side while they cross (buy level >= sell level).
2. Price-time priority: better levels first, then earlier arrival. The trade price is the resting
   order's level (its limit price when no fee or grid cap applies); the buyer pays it plus the fee,
   the seller receives it minus the fee.
3. Partial fills: what is left of an incoming order rests in the book; cancel() withdraws what is
   left of a resting order.
4. Headroom: before each match the book asks the network how much may flow from the seller to the
   buyer. A refused match is skipped (the next resting order is tried); a partial allowance trades
   only that much.
5. A home's own buy and sell orders may not cross (net your own flows first), so a home never
   trades with itself.

Everything is in integers and deterministic: arrival order is the order of submit() calls.
`settle` turns the interval's orders and trades into the periodic market's ClearingResult shape:
unfilled energy priced at or beyond the grid's prices goes to the grid, as in clear_uniform_price.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hub.grid.headroom import TransferHeadroom
from hub.grid.lindistflow import FloatArray
from hub.grid.model import DEFAULT_LOADING_LIMIT, DEFAULT_VOLTAGE_MARGIN_PU, Feeder
from hub.market.types import (
    MAX_ABS_PRICE,
    MAX_ENERGY_WH,
    ClearingResult,
    HomeAllocation,
    MarketRules,
    Order,
    Step,
    StepFill,
)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class LimitOrder:
    """Up to `energy_wh` Wh bought or sold at `price` minor units per kWh or better."""

    order_id: str
    home_id: str
    side: Side
    price: int
    energy_wh: int

    def __post_init__(self) -> None:
        for what in ("order_id", "home_id"):
            value = getattr(self, what)
            if not isinstance(value, str) or not value:
                raise ValueError(f"order {self.order_id!r}: {what} must be a non-empty string")
        if not isinstance(self.side, Side):
            raise ValueError(f"order {self.order_id!r}: side must be a Side, got {self.side!r}")
        if isinstance(self.price, bool) or not isinstance(self.price, int):
            raise ValueError(f"order {self.order_id!r}: price must be an int, got {self.price!r}")
        if abs(self.price) > MAX_ABS_PRICE:
            raise ValueError(f"order {self.order_id!r}: price must be within +-{MAX_ABS_PRICE}")
        energy = self.energy_wh
        if isinstance(energy, bool) or not isinstance(energy, int):
            raise ValueError(f"order {self.order_id!r}: energy_wh must be an int, got {energy!r}")
        if not 0 < energy <= MAX_ENERGY_WH:
            raise ValueError(
                f"order {self.order_id!r}: energy_wh must be within 1..{MAX_ENERGY_WH}"
            )


@dataclass(frozen=True, slots=True)
class Trade:
    """`energy_wh` Wh from seller to buyer at `price` (local price before fees)."""

    sequence: int  # 1, 2, ... in the order trades happened
    buy_order_id: str
    sell_order_id: str
    buyer: str
    seller: str
    price: int
    energy_wh: int


@dataclass(frozen=True, slots=True)
class Submission:
    """What happened to a submitted order. `blocked` lists resting orders that crossed it but that
    the network would not let it trade with."""

    order_id: str
    trades: tuple[Trade, ...]
    resting_wh: int
    blocked: tuple[str, ...]


class Headroom(Protocol):
    """The network's say on a match: how much may still flow from seller to buyer."""

    def available_wh(self, buyer: str, seller: str) -> int: ...

    def commit(self, buyer: str, seller: str, energy_wh: int) -> None: ...


class CallbackHeadroom:
    """Headroom from a plain function (buyer, seller) -> Wh allowed; it keeps its own state."""

    def __init__(self, allowed: Callable[[str, str], int]) -> None:
        self._allowed = allowed

    def available_wh(self, buyer: str, seller: str) -> int:
        return self._allowed(buyer, seller)

    def commit(self, buyer: str, seller: str, energy_wh: int) -> None:
        del buyer, seller, energy_wh  # the callback tracks what it needs itself


class FeederHeadroom:
    """Headroom on a feeder: LinDistFlow limits on top of a base load, trades accumulating.

    margin_pu / loading_limit: as NetworkOptions.voltage_margin_pu / loading_limit (same defaults).

    Homes not attached to a bus of the feeder get no headroom (their trades cannot be checked).
    """

    def __init__(
        self,
        feeder: Feeder,
        interval_seconds: int,
        *,
        base_load_kw: FloatArray | None = None,
        margin_pu: float = DEFAULT_VOLTAGE_MARGIN_PU,
        loading_limit: float = DEFAULT_LOADING_LIMIT,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"interval_seconds must be > 0, got {interval_seconds}")
        self._homes = feeder.homes
        self._kw_per_wh = 3.6 / interval_seconds
        self._transfers = TransferHeadroom(
            feeder, base_load_kw, margin_pu=margin_pu, loading_limit=loading_limit
        )

    def available_wh(self, buyer: str, seller: str) -> int:
        if buyer not in self._homes or seller not in self._homes:
            return 0
        kw = self._transfers.available_kw(self._homes[seller], self._homes[buyer])
        if math.isinf(kw):
            return MAX_ENERGY_WH
        return max(0, math.floor(kw / self._kw_per_wh + 1e-9))

    def commit(self, buyer: str, seller: str, energy_wh: int) -> None:
        self._transfers.add(self._homes[seller], self._homes[buyer], energy_wh * self._kw_per_wh)


class _Resting:
    __slots__ = ("level", "order", "remaining", "sequence")

    def __init__(self, order: LimitOrder, level: int, sequence: int) -> None:
        self.order = order
        self.level = level
        self.sequence = sequence
        self.remaining = order.energy_wh


class _BookSide:
    """Resting orders of one side: level -> {arrival number: order}, best level first."""

    def __init__(self, best_is_lowest: bool) -> None:
        self._sign = 1 if best_is_lowest else -1
        self.keys: list[int] = []  # sign * level, ascending: the best level first
        self.queues: dict[int, dict[int, _Resting]] = {}

    def best(self) -> int | None:
        return self._sign * self.keys[0] if self.keys else None

    def add(self, resting: _Resting) -> None:
        key = self._sign * resting.level
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = {}
            insort(self.keys, key)
        queue[resting.sequence] = resting

    def remove(self, resting: _Resting) -> None:
        key = self._sign * resting.level
        queue = self.queues[key]
        del queue[resting.sequence]
        if not queue:
            del self.queues[key]
            self.keys.remove(key)


class OrderBook:
    """The order book of one delivery interval (one set of MarketRules)."""

    def __init__(self, rules: MarketRules, headroom: Headroom | None = None) -> None:
        self.rules = rules
        self._headroom = headroom
        self._bids = _BookSide(best_is_lowest=False)
        self._asks = _BookSide(best_is_lowest=True)
        self._orders: list[LimitOrder] = []
        self._resting: dict[str, _Resting] = {}
        self._ids: set[str] = set()
        self._withdrawn: dict[str, int] = {}
        self._trades: list[Trade] = []
        self._highest_buy: dict[str, int] = {}
        self._lowest_sell: dict[str, int] = {}

    @property
    def orders(self) -> tuple[LimitOrder, ...]:
        return tuple(self._orders)

    @property
    def trades(self) -> tuple[Trade, ...]:
        return tuple(self._trades)

    def best_bid(self) -> int | None:
        """The best resting buy level (effective price), None if there is none."""
        return self._bids.best()

    def best_ask(self) -> int | None:
        return self._asks.best()

    def resting_wh(self, order_id: str) -> int:
        resting = self._resting.get(order_id)
        return 0 if resting is None else resting.remaining

    def level_of(self, order: LimitOrder) -> int:
        """An order's effective price: what it is worth against local orders."""
        rules = self.rules
        if order.side is Side.BUY:
            return min(order.price, rules.retail_price) - rules.fee_per_kwh
        return max(order.price, rules.feed_in_price) + rules.fee_per_kwh

    def submit(self, order: LimitOrder) -> Submission:
        """Match `order` against the book; what is left rests. Raises ValueError for a duplicate
        order_id or an order crossing the same home's own orders."""
        self._accept(order)
        sequence = len(self._orders)
        self._orders.append(order)
        level = self.level_of(order)
        buying = order.side is Side.BUY
        other = self._asks if buying else self._bids
        remaining = order.energy_wh
        trades: list[Trade] = []
        blocked: list[str] = []
        position = 0
        while remaining and position < len(other.keys):
            key = other.keys[position]
            resting_level = key if buying else -key
            if (resting_level > level) if buying else (resting_level < level):
                break
            finished: list[_Resting] = []
            for resting in other.queues[key].values():
                buy = order if buying else resting.order
                sell = resting.order if buying else order
                amount = min(remaining, resting.remaining)
                if self._headroom is not None:
                    amount = min(amount, self._headroom.available_wh(buy.home_id, sell.home_id))
                    if amount <= 0:
                        blocked.append(resting.order.order_id)
                        continue
                    self._headroom.commit(buy.home_id, sell.home_id, amount)
                trade = Trade(
                    len(self._trades) + 1,
                    buy.order_id,
                    sell.order_id,
                    buy.home_id,
                    sell.home_id,
                    resting_level,
                    amount,
                )
                self._trades.append(trade)
                trades.append(trade)
                remaining -= amount
                resting.remaining -= amount
                if resting.remaining == 0:
                    finished.append(resting)
                if remaining == 0:
                    break
            for resting in finished:
                other.remove(resting)
                del self._resting[resting.order.order_id]
            if other.queues.get(key) is not None:
                position += 1  # the level still has orders (blocked or untouched): look further
        if remaining:
            resting = _Resting(order, level, sequence)
            resting.remaining = remaining
            (self._bids if buying else self._asks).add(resting)
            self._resting[order.order_id] = resting
        return Submission(order.order_id, tuple(trades), remaining, tuple(blocked))

    def cancel(self, order_id: str) -> int:
        """Withdraw what is left of an order; returns the Wh withdrawn (0 if nothing rested).
        Raises KeyError for an order id the book has never seen."""
        if order_id not in self._ids:
            raise KeyError(order_id)
        resting = self._resting.pop(order_id, None)
        if resting is None:
            return 0
        (self._bids if resting.order.side is Side.BUY else self._asks).remove(resting)
        self._withdrawn[order_id] = resting.remaining
        return resting.remaining

    def settle(self) -> Settlement:
        """The interval's outcome in the periodic market's shape (see `settle`)."""
        return settle(self._orders, self._trades, self._withdrawn, self.rules)

    def _accept(self, order: LimitOrder) -> None:
        if not isinstance(order, LimitOrder):
            raise ValueError(f"expected a LimitOrder, got {type(order).__name__}")
        if order.order_id in self._ids:
            raise ValueError(f"order {order.order_id!r}: duplicate order_id")
        home = order.home_id
        if order.side is Side.BUY:
            lowest_sell = self._lowest_sell.get(home)
            if lowest_sell is not None and order.price >= lowest_sell:
                raise ValueError(
                    f"order {order.order_id!r}: buy at {order.price} crosses home {home!r}'s own "
                    f"sell at {lowest_sell}; net the home's own flows first"
                )
            self._highest_buy[home] = max(order.price, self._highest_buy.get(home, order.price))
        else:
            highest_buy = self._highest_buy.get(home)
            if highest_buy is not None and order.price <= highest_buy:
                raise ValueError(
                    f"order {order.order_id!r}: sell at {order.price} crosses home {home!r}'s own "
                    f"buy at {highest_buy}; net the home's own flows first"
                )
            self._lowest_sell[home] = min(order.price, self._lowest_sell.get(home, order.price))
        self._ids.add(order.order_id)


# --- settlement: trades -> the periodic market's result shape ------------------------------------


@dataclass(frozen=True, slots=True)
class Settlement:
    """clearing: same shape as clear_uniform_price's result (price = volume-weighted average trade
    price rounded down, price_low/high = lowest/highest trade price). orders: each home's limit
    orders as one bid curve whose steps line up with its allocation's fills (for dispatch);
    step_orders: which order each of those steps is."""

    clearing: ClearingResult
    orders: tuple[Order, ...]
    # home_id -> (buy order ids, sell order ids) in the order of that home's steps and fills, so
    # the server can find what each step was for (e.g. the device it dispatches).
    step_orders: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]


def settle(
    orders: Sequence[LimitOrder],
    trades: Sequence[Trade],
    withdrawn: Mapping[str, int],
    rules: MarketRules,
) -> Settlement:
    """Per-home totals of an interval's continuous trading.

    `orders` in arrival order; `withdrawn` maps order_id -> Wh cancelled. A home's buy orders become
    the steps of its buy curve by price (highest first, then arrival), sell orders likewise (lowest
    first); cancelled energy is not part of a step. Energy left unfilled at the close goes to the
    grid when its price is at or beyond the grid's (buy >= retail, sell <= feed-in).
    """
    fee, retail, feed_in = rules.fee_per_kwh, rules.retail_price, rules.feed_in_price
    filled: dict[str, int] = {}
    money: dict[str, int] = {}
    welfare = 0
    by_id = {order.order_id: order for order in orders}
    for trade in trades:
        filled[trade.buy_order_id] = filled.get(trade.buy_order_id, 0) + trade.energy_wh
        filled[trade.sell_order_id] = filled.get(trade.sell_order_id, 0) + trade.energy_wh
        money[trade.buy_order_id] = money.get(trade.buy_order_id, 0) + trade.price * trade.energy_wh
        money[trade.sell_order_id] = (
            money.get(trade.sell_order_id, 0) + trade.price * trade.energy_wh
        )
        buy, sell = by_id[trade.buy_order_id], by_id[trade.sell_order_id]
        gain = (min(buy.price, retail) - fee) - (max(sell.price, feed_in) + fee)
        welfare += gain * trade.energy_wh

    homes: dict[str, list[tuple[int, LimitOrder]]] = {}
    for arrival, order in enumerate(orders):
        homes.setdefault(order.home_id, []).append((arrival, order))
    allocations: list[HomeAllocation] = []
    curves: list[Order] = []
    step_orders: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for home_id in sorted(homes):
        entries = homes[home_id]
        buys = sorted(
            (o for o in entries if o[1].side is Side.BUY), key=lambda o: (-o[1].price, o[0])
        )
        sells = sorted(
            (o for o in entries if o[1].side is Side.SELL), key=lambda o: (o[1].price, o[0])
        )
        buy_steps, buy_fills, bl, bg, buy_money = _curve(
            buys, filled, withdrawn, money, retail, True
        )
        sell_steps, sell_fills, sl, sg, sell_money = _curve(
            sells, filled, withdrawn, money, feed_in, False
        )
        curves.append(Order(home_id, buy_steps, sell_steps))
        step_orders[home_id] = (_kept(buys, withdrawn), _kept(sells, withdrawn))
        allocations.append(
            HomeAllocation(
                home_id,
                bl,
                sl,
                bg,
                sg,
                buy_fills,
                sell_fills,
                buy_money + fee * bl + retail * bg,
                sell_money - fee * sl + feed_in * sg,
                fee * (bl + sl),
            )
        )
    volume = sum(trade.energy_wh for trade in trades)
    prices = [trade.price for trade in trades]
    clearing = ClearingResult(
        price=sum(t.price * t.energy_wh for t in trades) // volume if volume else None,
        price_low=min(prices) if prices else None,
        price_high=max(prices) if prices else None,
        volume_wh=volume,
        welfare_mminor=welfare,
        fees_mminor=2 * fee * volume,
        grid_import_wh=sum(a.bought_grid_wh for a in allocations),
        grid_export_wh=sum(a.sold_grid_wh for a in allocations),
        allocations=tuple(allocations),
    )
    return Settlement(clearing, tuple(curves), step_orders)


def _kept(entries: list[tuple[int, LimitOrder]], withdrawn: Mapping[str, int]) -> tuple[str, ...]:
    """Ids of the orders that are steps of the curve (not cancelled before any fill)."""
    return tuple(
        order.order_id
        for _arrival, order in entries
        if order.energy_wh - withdrawn.get(order.order_id, 0) > 0
    )


def _curve(
    entries: list[tuple[int, LimitOrder]],
    filled: Mapping[str, int],
    withdrawn: Mapping[str, int],
    money: Mapping[str, int],
    grid_price: int,
    buying: bool,
) -> tuple[tuple[Step, ...], tuple[StepFill, ...], int, int, int]:
    """Steps, fills, local Wh, grid Wh and local money (price x Wh) of one side of one home."""
    steps: list[Step] = []
    fills: list[StepFill] = []
    local_total = grid_total = paid = 0
    for _arrival, order in entries:
        energy = order.energy_wh - withdrawn.get(order.order_id, 0)
        if energy <= 0:
            continue
        local = filled.get(order.order_id, 0)
        with_grid = order.price >= grid_price if buying else order.price <= grid_price
        grid = energy - local if with_grid else 0
        steps.append(Step(order.price, energy))
        fills.append(StepFill(local, grid))
        local_total += local
        grid_total += grid
        paid += money.get(order.order_id, 0)
    return tuple(steps), tuple(fills), local_total, grid_total, paid
