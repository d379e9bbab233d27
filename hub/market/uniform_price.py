"""Uniform-price double auction for one interval, with the grid as unlimited backstop.

The whole market clears at one price. The rules (see docs/market.md) in short:

1. Effective prices: a buy step is worth min(price, retail) - fee locally (nobody pays more
   than the grid asks), a sell step costs max(price, feed_in) + fee (nobody sells below the grid).
2. Demand D(p) / supply S(p) count energy whose effective price is >= p / <= p. The local volume is
   Q* = max_p min(D(p), S(p)), the efficient quantity.
3. price_low = min p with S(p) >= Q*, price_high = max p with D(p) >= Q*; the clearing price is
   price_low + k% of the gap, rounded down.
4. Steps strictly inside the interval trade fully; the marginal level on each side is rationed by
   priority tier, then pro-rata by step energy with largest-remainder rounding.
5. Unfilled energy of steps priced at or beyond the grid's prices goes to the grid.

Everything is vectorised over steps with numpy; Python loops only build the result objects.
Money is computed with Python integers, so it is exact whatever the magnitudes.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import chain, pairwise
from operator import attrgetter, mul

import numpy as np
from numpy.typing import NDArray

from hub.market.types import ClearingResult, HomeAllocation, MarketRules, Order, Step, StepFill

IntArray = NDArray[np.int64]

_PRICE = attrgetter("price")
_ENERGY = attrgetter("energy_wh")
_PRIORITY = attrgetter("priority")
_HOME_ID = attrgetter("home_id")
_BUY = attrgetter("buy")
_SELL = attrgetter("sell")


@dataclass(frozen=True, slots=True)
class _Side:
    """All steps of one side, flattened home by home (homes in home_id order)."""

    price: IntArray  # original limit price
    level: IntArray  # effective price (grid-capped, fee included)
    energy: IntArray
    bounds: IntArray  # home i (rank in home_id order) owns steps bounds[i]:bounds[i + 1]
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
    buy = _flatten(homes, _BUY, priority, lambda p: np.minimum(p, rules.retail_price) - fee)
    sell = _flatten(homes, _SELL, priority, lambda p: np.maximum(p, rules.feed_in_price) + fee)

    volume = _efficient_volume(buy, sell)
    price: int | None
    price_low: int | None
    price_high: int | None
    if volume > 0:
        price_low, price_high = _price_interval(buy, sell, volume)
        price = price_low + rules.k_percent * (price_high - price_low) // 100
        # Steps better than the interval's edge trade fully; the edge level is rationed.
        buy_local = _fill_side(buy, buy.level > price_high, buy.level == price_high, volume)
        sell_local = _fill_side(sell, sell.level < price_low, sell.level == price_low, volume)
        welfare = _exact_dot(buy.level, buy_local) - _exact_dot(sell.level, sell_local)
    else:
        price = price_low = price_high = None
        buy_local = np.zeros_like(buy.energy)
        sell_local = np.zeros_like(sell.energy)
        welfare = 0

    # Only steps priced at or beyond the grid's own price would trade with the grid.
    buy_grid = np.where(buy.price >= rules.retail_price, buy.energy - buy_local, 0)
    sell_grid = np.where(sell.price <= rules.feed_in_price, sell.energy - sell_local, 0)
    money_price = 0 if price is None else price  # without local trade only grid flows are paid
    allocations = _allocations(
        homes, rules, money_price, (buy, buy_local, buy_grid), (sell, sell_local, sell_grid)
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
        allocations=allocations,
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


def _flatten(
    homes: list[Order],
    curve: Callable[[Order], tuple[Step, ...]],
    home_priority: IntArray,
    effective: Callable[[IntArray], IntArray],
) -> _Side:
    # map() with attrgetter keeps the per-step Python work in C: this is the O(steps) part.
    curves = list(map(curve, homes))
    counts = np.fromiter(map(len, curves), np.int64, len(curves))
    steps = list(chain.from_iterable(curves))
    bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    price = np.fromiter(map(_PRICE, steps), np.int64, len(steps))
    energy = np.fromiter(map(_ENERGY, steps), np.int64, len(steps))
    level = effective(price)
    merit = np.argsort(level, kind="stable")
    return _Side(
        price=price,
        level=level,
        energy=energy,
        bounds=bounds,
        home_priority=home_priority,
        sorted_level=level[merit],
        cumulative=np.concatenate(([0], np.cumsum(energy[merit]))).astype(np.int64),
    )


def _efficient_volume(buy: _Side, sell: _Side) -> int:
    """Q* = max over p of min(D(p), S(p)); the max is reached at some step's effective price."""
    if len(buy.level) == 0 or len(sell.level) == 0:
        return 0
    candidates = np.concatenate((_distinct(buy.sorted_level), _distinct(sell.sorted_level)))
    traded = np.minimum(_demand_at(buy, candidates), _supply_at(sell, candidates))
    return int(traded.max())


def _price_interval(buy: _Side, sell: _Side, volume: int) -> tuple[int, int]:
    """Lowest price at which supply reaches Q* and highest at which demand still does."""
    sell_levels, buy_levels = _distinct(sell.sorted_level), _distinct(buy.sorted_level)
    price_low = sell_levels[_supply_at(sell, sell_levels) >= volume].min()
    price_high = buy_levels[_demand_at(buy, buy_levels) >= volume].max()
    return int(price_low), int(price_high)


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
    local = np.where(inside, side.energy, 0)
    rest = volume - int(local.sum())
    at = np.flatnonzero(marginal)
    # Map the marginal steps back to (home rank, step index); "right" skips homes without steps.
    home = np.searchsorted(side.bounds, at, side="right") - 1
    step = at - side.bounds[home]
    local[at] = _ration(side.energy[at], side.home_priority[home], home, step, rest)
    return local


def _ration(
    energy: IntArray, priority: IntArray, home: IntArray, step: IntArray, amount: int
) -> IntArray:
    """Split `amount` Wh over same-price steps: whole priority tiers first, highest first."""
    # unique() of the negated priority lists tiers from the highest priority down.
    tiers, tier_of = np.unique(-priority, return_inverse=True)
    tier_energy = np.zeros(len(tiers), dtype=np.int64)
    np.add.at(tier_energy, tier_of, energy)
    served = np.cumsum(tier_energy)
    # The first tier whose cumulative energy exceeds `amount` cannot be fully served.
    partial = int(np.searchsorted(served, amount, side="right"))
    fill = np.where(tier_of < partial, energy, 0)
    if partial < len(tiers):
        left = amount - (int(served[partial - 1]) if partial > 0 else 0)
        members = np.flatnonzero(tier_of == partial)
        fill[members] = _pro_rata(energy[members], home[members], step[members], left)
    return fill


def _pro_rata(energy: IntArray, home: IntArray, step: IntArray, amount: int) -> IntArray:
    """Largest-remainder split of `amount` proportional to `energy` (amount < energy.sum())."""
    total = int(energy.sum())
    # amount * energy can exceed int64, so divide with Python integers (object arrays).
    scaled = energy.astype(object) * amount
    share = (scaled // total).astype(np.int64)
    remainder = (scaled % total).astype(np.int64)  # < total, so it fits in int64 again
    leftover = amount - int(share.sum())
    # One Wh each to the largest remainders; ties go to the lower home_id, then the earlier step.
    winners = np.lexsort((step, home, -remainder))[:leftover]
    share[winners] += 1
    return share


def _exact_dot(prices: IntArray, energy: IntArray) -> int:
    # Products can exceed int64 in extreme markets; Python integers never overflow.
    traded = np.flatnonzero(energy)
    return sum(map(mul, prices[traded].tolist(), energy[traded].tolist()))


class _FillCache(dict[tuple[int, int], StepFill]):
    """Hands out one shared StepFill per distinct (local, grid) pair.

    Most steps are untouched or fully filled, so many fills repeat; sharing immutable objects
    saves building tens of thousands of them in large markets.
    """

    def __missing__(self, key: tuple[int, int]) -> StepFill:
        fill = self[key] = _new_fill(key)
        return fill


def _fills(local: IntArray, grid: IntArray) -> tuple[StepFill, ...]:
    return tuple(map(_FillCache().__getitem__, zip(local.tolist(), grid.tolist(), strict=True)))


def _allocations(
    homes: list[Order],
    rules: MarketRules,
    price: int,
    buy_flows: tuple[_Side, IntArray, IntArray],
    sell_flows: tuple[_Side, IntArray, IntArray],
) -> tuple[HomeAllocation, ...]:
    """Per-home results; each flows tuple is (side, local Wh per step, grid Wh per step)."""
    (buy, buy_local, buy_grid), (sell, sell_local, sell_grid) = buy_flows, sell_flows
    fee, retail, feed_in = rules.fee_per_kwh, rules.retail_price, rules.feed_in_price
    bought_local = _segment_totals(buy_local, buy.bounds)
    sold_local = _segment_totals(sell_local, sell.bounds)
    bought_grid = _segment_totals(buy_grid, buy.bounds)
    sold_grid = _segment_totals(sell_grid, sell.bounds)
    paid = _money(((price + fee, bought_local), (retail, bought_grid)))
    received = _money(((price - fee, sold_local), (feed_in, sold_grid)))
    fees = _money(((fee, bought_local), (fee, sold_local)))
    # Everything is zipped and mapped in C: over 10,000 homes Python-level loops dominate.
    rows = zip(
        map(_HOME_ID, homes),
        bought_local.tolist(),
        sold_local.tolist(),
        bought_grid.tolist(),
        sold_grid.tolist(),
        _slices(_fills(buy_local, buy_grid), buy.bounds),
        _slices(_fills(sell_local, sell_grid), sell.bounds),
        paid,
        received,
        fees,
        strict=True,
    )
    return tuple(map(_new_allocation, rows))


# tuple.__new__ bound to the NamedTuple: a C call per row, unlike the Python-level _make.
_new_allocation = partial(tuple.__new__, HomeAllocation)
_new_fill = partial(tuple.__new__, StepFill)


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


def _segment_totals(values: IntArray, bounds: IntArray) -> IntArray:
    """Per-home totals of a per-step array (exact in int64: energies are bounded)."""
    cumulative = np.concatenate(([0], np.cumsum(values)))
    totals: IntArray = np.diff(cumulative[bounds])
    return totals


def _slices(fills: tuple[StepFill, ...], bounds: IntArray) -> map[tuple[StepFill, ...]]:
    at = bounds.tolist()
    return map(fills.__getitem__, map(slice, at[:-1], at[1:]))


def _money(terms: tuple[tuple[int, IntArray], ...]) -> list[int]:
    """Sum of price x energy per home, exact: int64 when it provably fits, Python ints if not."""
    bound = sum(abs(price) * int(energy.max(initial=0)) for price, energy in terms)
    if bound < 2**62:
        total = sum((price * energy for price, energy in terms), np.zeros_like(terms[0][1]))
        result: list[int] = total.tolist()
        return result
    return [
        sum(price * amount for price, amount in zip((p for p, _ in terms), row, strict=True))
        for row in zip(*(energy.tolist() for _, energy in terms), strict=True)
    ]
