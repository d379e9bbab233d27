"""Uniform-price double auction for one interval, with the grid as unlimited backstop.

The whole market clears at one price. The rules (see docs/market.md) in short:

1. Effective prices: a buy step is worth min(price, retail) - fee locally (nobody pays more
   than the grid asks), a sell step costs max(price, feed_in) + fee (nobody sells below the grid).
2. Demand D(p) / supply S(p) count energy whose effective price is >= p / <= p. The local volume is
   Q* = max_p min(D(p), S(p)), the efficient quantity.
3. Who trades: buy steps above the marginal buy level (the highest p with D(p) >= Q*) and sell
   steps below the marginal sell level (the lowest p with S(p) >= Q*) trade fully; each marginal
   level is rationed by priority tier, then pro-rata by step energy with largest-remainder
   rounding.
4. Price: the competitive-equilibrium interval of those volumes, [price_low, price_high]: at most
   the lowest traded buy level and the lowest level of a seller left short, at least the highest
   traded sell level and the highest level of a buyer left short, within [feed_in + fee,
   retail - fee]. The clearing price is price_low + k% of the gap, rounded down.
5. Unfilled energy of steps priced at or beyond the grid's prices goes to the grid.

Everything is vectorised over steps with numpy; Python loops only build the result objects.
Money is exact whatever the magnitudes (int64 where it provably fits, Python integers if not).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from operator import attrgetter

import numpy as np
from numpy.typing import NDArray

from hub.market.kernels import (
    Flows,
    IntArray,
    Steps,
    allocations,
    equilibrium_interval,
    exact_dot,
    grid_flows,
    k_price,
    ration,
)
from hub.market.types import ClearingResult, MarketRules, Order, Step

_PRIORITY = attrgetter("priority")
_HOME_ID = attrgetter("home_id")
_BUY = attrgetter("buy")
_SELL = attrgetter("sell")


@dataclass(frozen=True, slots=True, eq=False)
class _Side:
    """One side's steps with their effective prices, indexed for D(p) and S(p)."""

    steps: Steps
    level: IntArray  # effective price (grid-capped, fee included)
    home_priority: IntArray  # per home, not per step: only the marginal level needs it
    sorted_level: IntArray  # effective prices ascending, for D(p) and S(p) by binary search
    cumulative: IntArray  # cumulative[j] = energy of the j cheapest steps (cumulative[0] = 0)


def clear_uniform_price(orders: Sequence[Order], rules: MarketRules) -> ClearingResult:
    """Clear one interval. Deterministic: the input order of `orders` does not matter."""
    with _collector_paused():
        return _clear(orders, rules)


def _clear(orders: Sequence[Order], rules: MarketRules) -> ClearingResult:
    homes = _sorted_by_home(orders)
    fee = rules.fee_per_kwh
    priority = np.fromiter(map(_PRIORITY, homes), np.int64, len(homes))
    buy = _side(homes, _BUY, priority, lambda p: np.minimum(p, rules.retail_price) - fee)
    sell = _side(homes, _SELL, priority, lambda p: np.maximum(p, rules.feed_in_price) + fee)

    volume = _efficient_volume(buy, sell)
    price: int | None
    price_low: int | None
    price_high: int | None
    if volume > 0:
        # Steps better than the marginal levels trade fully; each marginal level is rationed.
        buy_margin, sell_margin = _marginal_levels(buy, sell, volume)
        buy_local = _fill_side(buy, buy.level > buy_margin, buy.level == buy_margin, volume)
        sell_local = _fill_side(sell, sell.level < sell_margin, sell.level == sell_margin, volume)
        welfare = exact_dot(buy.level, buy_local) - exact_dot(sell.level, sell_local)
        price_low, price_high = _price_interval(buy, buy_local, sell, sell_local, rules)
        price = k_price(price_low, price_high, rules.k_percent)
    else:
        price = price_low = price_high = None
        buy_local = np.zeros_like(buy.steps.energy)
        sell_local = np.zeros_like(sell.steps.energy)
        welfare = 0

    buy_grid, sell_grid = grid_flows(
        buy.steps,
        buy_local,
        sell.steps,
        sell_local,
        retail=rules.retail_price,
        feed_in=rules.feed_in_price,
    )
    money_price = 0 if price is None else price  # without local trade only grid flows are paid
    rows = allocations(
        homes,
        fee,
        (money_price, rules.retail_price, rules.feed_in_price),
        Flows(buy.steps, buy_local, buy_grid),
        Flows(sell.steps, sell_local, sell_grid),
    )
    return ClearingResult(
        price=price,
        price_low=price_low,
        price_high=price_high,
        volume_wh=volume,
        welfare_mminor=welfare,
        fees_mminor=2 * fee * volume,
        grid_import_wh=int(buy_grid.sum()),
        grid_export_wh=int(sell_grid.sum()),
        allocations=rows,
    )


def _sorted_by_home(orders: Sequence[Order]) -> list[Order]:
    homes = sorted(orders, key=_HOME_ID)
    if len(set(map(_HOME_ID, homes))) < len(homes):  # cheap check first; find the culprit after
        for previous, current in pairwise(homes):
            if previous.home_id == current.home_id:
                raise ValueError(
                    f"home {current.home_id!r}: duplicate home_id (one order per home)"
                )
    return homes


def _side(
    homes: list[Order],
    curve: Callable[[Order], tuple[Step, ...]],
    home_priority: IntArray,
    effective: Callable[[IntArray], IntArray],
) -> _Side:
    steps = Steps.of(homes, curve)
    level = effective(steps.price)
    merit = np.argsort(level, kind="stable")
    return _Side(
        steps=steps,
        level=level,
        home_priority=home_priority,
        sorted_level=level[merit],
        cumulative=np.concatenate(([0], np.cumsum(steps.energy[merit]))).astype(np.int64),
    )


def _efficient_volume(buy: _Side, sell: _Side) -> int:
    """Q* = max over p of min(D(p), S(p)); the max is reached at some step's effective price."""
    if len(buy.level) == 0 or len(sell.level) == 0:
        return 0
    candidates = np.concatenate((_distinct(buy.sorted_level), _distinct(sell.sorted_level)))
    traded = np.minimum(_demand_at(buy, candidates), _supply_at(sell, candidates))
    return int(traded.max())


def _marginal_levels(buy: _Side, sell: _Side, volume: int) -> tuple[int, int]:
    """The lowest buy level demand needs to reach Q* and the highest sell level supply needs:
    the highest p with D(p) >= Q* and the lowest p with S(p) >= Q*."""
    sell_levels, buy_levels = _distinct(sell.sorted_level), _distinct(buy.sorted_level)
    buy_margin = buy_levels[_demand_at(buy, buy_levels) >= volume].max()
    sell_margin = sell_levels[_supply_at(sell, sell_levels) >= volume].min()
    return int(buy_margin), int(sell_margin)


def _price_interval(
    buy: _Side, buy_local: IntArray, sell: _Side, sell_local: IntArray, rules: MarketRules
) -> tuple[int, int]:
    """The competitive-equilibrium interval of the cleared volumes (kernels.equilibrium_interval):
    bounded by the marginal traded steps and the best steps left out, within the grid's prices."""
    fee = rules.fee_per_kwh
    low, high = equilibrium_interval(
        (buy.level, buy_local > 0, buy_local < buy.steps.energy),
        (sell.level, sell_local > 0, sell_local < sell.steps.energy),
        floor=rules.feed_in_price + fee,
        ceiling=rules.retail_price - fee,
    )
    # Both bounds are levels of traded steps or grid prices, never infinite once volume > 0.
    return int(low), int(high)


def _distinct(ascending: IntArray) -> IntArray:
    """Distinct values of a sorted array: D and S only change there, and there are few of them."""
    keep = np.ones(len(ascending), dtype=np.bool_)
    keep[1:] = ascending[1:] != ascending[:-1]
    return ascending[keep]


def _demand_at(buy: _Side, prices: IntArray) -> IntArray:
    """D(p): energy of buy steps whose effective price is >= p, for every p in `prices`."""
    below = np.searchsorted(buy.sorted_level, prices, side="left")
    demand: IntArray = buy.cumulative[-1] - buy.cumulative[below]
    return demand


def _supply_at(sell: _Side, prices: IntArray) -> IntArray:
    """S(p): energy of sell steps whose effective price is <= p, for every p in `prices`."""
    return sell.cumulative[np.searchsorted(sell.sorted_level, prices, side="right")]


def _fill_side(
    side: _Side, inside: NDArray[np.bool_], marginal: NDArray[np.bool_], volume: int
) -> IntArray:
    """Local Wh per step: steps inside the interval trade fully, the marginal level the rest."""
    energy = side.steps.energy
    local: IntArray = np.where(inside, energy, 0)
    rest = volume - int(local.sum())
    at = np.flatnonzero(marginal)
    home = side.steps.home_of(at)
    step = side.steps.index_of(at, home)
    local[at] = ration(energy[at], side.home_priority[home], home, step, rest)
    return local


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic GC while clearing.

    Clearing creates no reference cycles (arrays, ints and result tuples only), yet allocating
    tens of thousands of result rows triggers collections that rescan every live input object:
    about a fifth of the clearing time at 10,000 homes. The previous state is restored even on
    error, and anything collectable is collected at the next regular collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
