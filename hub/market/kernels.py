"""Building blocks shared by the periodic clearings (uniform price and network-constrained).

One place for each rule both follow: bid curves flattened into step arrays, rationing of one price
level (priority tiers, then pro rata with largest remainders), exact money, and the result rows
(HomeAllocation with its StepFills). Everything is vectorised over steps with numpy; money is
exact (int64 where it provably fits, Python integers otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from operator import attrgetter, mul

import numpy as np
from numpy.typing import NDArray

from hub.market.types import HomeAllocation, Order, Step, StepFill

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
NumberArray = NDArray[np.int64] | NDArray[np.float64]
# A price per home (array) or one price for everybody (int).
Prices = int | IntArray

_PRICE = attrgetter("price")
_ENERGY = attrgetter("energy_wh")
_HOME_ID = attrgetter("home_id")


@dataclass(frozen=True, slots=True, eq=False)
class Steps:
    """All steps of one side, flattened home by home (homes in the order given: home_id order)."""

    price: IntArray  # limit price
    energy: IntArray
    bounds: IntArray  # home i (its rank) owns steps bounds[i]:bounds[i + 1]

    @classmethod
    def of(cls, homes: Sequence[Order], curve: Callable[[Order], tuple[Step, ...]]) -> Steps:
        # map() with attrgetter keeps the per-step Python work in C: this is the O(steps) part.
        curves = list(map(curve, homes))
        counts = np.fromiter(map(len, curves), np.int64, len(curves))
        steps = list(chain.from_iterable(curves))
        return cls(
            price=np.fromiter(map(_PRICE, steps), np.int64, len(steps)),
            energy=np.fromiter(map(_ENERGY, steps), np.int64, len(steps)),
            bounds=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        )

    def home_of(self, at: IntArray) -> IntArray:
        """The rank of the home owning each step in `at` ("right" skips homes without steps)."""
        home: IntArray = np.searchsorted(self.bounds, at, side="right") - 1
        return home

    def index_of(self, at: IntArray, home: IntArray) -> IntArray:
        """Where each step in `at` (owned by `home`) stands in its home's curve."""
        index: IntArray = at - self.bounds[home]
        return index


@dataclass(frozen=True, slots=True, eq=False)
class Flows:
    """What one side's steps traded: Wh per step locally and with the grid."""

    steps: Steps
    local: IntArray
    grid: IntArray


def grid_flows(
    buy: Steps, buy_local: IntArray, sell: Steps, sell_local: IntArray, *, retail: int, feed_in: int
) -> tuple[IntArray, IntArray]:
    """Unfilled energy of steps priced at or beyond the grid's own prices goes to the grid."""
    buy_grid: IntArray = np.where(buy.price >= retail, buy.energy - buy_local, 0)
    sell_grid: IntArray = np.where(sell.price <= feed_in, sell.energy - sell_local, 0)
    return buy_grid, sell_grid


# --- the price ------------------------------------------------------------------------------------


def equilibrium_interval(
    buy: tuple[NumberArray, BoolArray, BoolArray],
    sell: tuple[NumberArray, BoolArray, BoolArray],
    *,
    floor: float,
    ceiling: float,
) -> tuple[float, float]:
    """The competitive-equilibrium price interval of a dispatch (on effective prices).

    Each side is (level, traded, short) per step or group: traded = it got some local energy,
    short = it got less than it asked for. At an equilibrium price every trader wants what it got:
    traded buyers and sellers left short bound the price from above, traded sellers and buyers
    left short from below. `floor`/`ceiling` are the grid's own prices seen from the local market
    (feed-in + fee, retail - fee): nobody trades locally beyond them. These are exactly the prices
    an LP's dual can take for this dispatch (when the dispatch maximises welfare, every such price
    supports it). Integer levels give integer bounds (exact in float64: |level| < 2^53).
    """
    (buy_level, buy_traded, buy_short), (sell_level, sell_traded, sell_short) = buy, sell
    low = max(floor, _highest(sell_level[sell_traded]), _highest(buy_level[buy_short]))
    high = min(ceiling, _lowest(buy_level[buy_traded]), _lowest(sell_level[sell_short]))
    return low, high


def k_price(low: int, high: int, k_percent: int) -> int:
    """The k-double auction's price: k % of the way from low to high, rounded down."""
    return low + k_percent * (high - low) // 100


def _highest(levels: NumberArray) -> float:
    return float(levels.max()) if len(levels) else -math.inf


def _lowest(levels: NumberArray) -> float:
    return float(levels.min()) if len(levels) else math.inf


# --- rationing one price level --------------------------------------------------------------------


def ration(
    energy: IntArray, priority: IntArray, home: IntArray, step: IntArray, amount: int
) -> IntArray:
    """Split `amount` Wh over steps of one level: whole priority tiers first, highest first; the
    tier that cannot be served in full shares pro rata (see pro_rata)."""
    # unique() of the negated priority lists tiers from the highest priority down.
    tiers, tier_of = np.unique(-priority, return_inverse=True)
    tier_energy = np.zeros(len(tiers), dtype=np.int64)
    np.add.at(tier_energy, tier_of, energy)
    served = np.cumsum(tier_energy)
    # The first tier whose cumulative energy exceeds `amount` cannot be fully served.
    partial = int(np.searchsorted(served, amount, side="right"))
    fill: IntArray = np.where(tier_of < partial, energy, 0)
    if partial < len(tiers):
        left = amount - (int(served[partial - 1]) if partial > 0 else 0)
        members = np.flatnonzero(tier_of == partial)
        fill[members] = pro_rata(energy[members], home[members], step[members], left)
    return fill


def pro_rata(energy: IntArray, home: IntArray, step: IntArray, amount: int) -> IntArray:
    """Largest-remainder split of `amount` proportional to `energy` (amount < energy.sum())."""
    total = int(energy.sum())
    # amount * energy can exceed int64, so divide with Python integers (object arrays).
    scaled = energy.astype(object) * amount
    share: IntArray = (scaled // total).astype(np.int64)
    remainder = (scaled % total).astype(np.int64)  # < total, so it fits in int64 again
    leftover = amount - int(share.sum())
    # One Wh each to the largest remainders; ties go to the lower home rank, then the earlier step.
    winners = np.lexsort((step, home, -remainder))[:leftover]
    share[winners] += 1
    return share


# --- money and result rows ------------------------------------------------------------------------


def exact_dot(prices: IntArray, energy: IntArray) -> int:
    """Sum of price x energy over the traded steps, in Python integers (never overflows)."""
    traded = np.flatnonzero(energy)
    return sum(map(mul, prices[traded].tolist(), energy[traded].tolist()))


def allocations(
    homes: Sequence[Order],
    fee: int,
    prices: tuple[Prices, Prices, Prices],
    buy: Flows,
    sell: Flows,
) -> tuple[HomeAllocation, ...]:
    """Per-home results. prices: the local, grid import and grid export price, per home or for
    everybody; buyers pay local + fee, sellers receive local - fee."""
    local, imports, exports = prices
    bought_local = segment_totals(buy.local, buy.steps.bounds)
    sold_local = segment_totals(sell.local, sell.steps.bounds)
    bought_grid = segment_totals(buy.grid, buy.steps.bounds)
    sold_grid = segment_totals(sell.grid, sell.steps.bounds)
    paid = money(((local + fee, bought_local), (imports, bought_grid)))
    received = money(((local - fee, sold_local), (exports, sold_grid)))
    fees = money(((fee, bought_local), (fee, sold_local)))
    # Everything is zipped and mapped in C: over 10,000 homes Python-level loops dominate.
    rows = zip(
        map(_HOME_ID, homes),
        bought_local.tolist(),
        sold_local.tolist(),
        bought_grid.tolist(),
        sold_grid.tolist(),
        slices(fills(buy.local, buy.grid), buy.steps.bounds),
        slices(fills(sell.local, sell.grid), sell.steps.bounds),
        paid,
        received,
        fees,
        strict=True,
    )
    return tuple(map(_new_allocation, rows))


def segment_totals(values: IntArray, bounds: IntArray) -> IntArray:
    """Per-home totals of a per-step array (exact in int64: energies are bounded)."""
    cumulative = np.concatenate(([0], np.cumsum(values)))
    totals: IntArray = np.diff(cumulative[bounds])
    return totals


def money(terms: tuple[tuple[Prices, IntArray], ...]) -> list[int]:
    """Sum of price x energy per home, exact: int64 when it provably fits, Python ints if not."""
    homes = len(terms[0][1])
    bound = sum(_largest(price) * int(energy.max(initial=0)) for price, energy in terms)
    if bound < 2**62:
        total = np.zeros(homes, dtype=np.int64)
        for price, energy in terms:
            total += price * energy
        result: list[int] = total.tolist()
        return result
    columns = [(_per_home(price, homes), energy.tolist()) for price, energy in terms]
    return [sum(prices[home] * energy[home] for prices, energy in columns) for home in range(homes)]


def _largest(price: Prices) -> int:
    return abs(price) if isinstance(price, int) else int(np.abs(price).max(initial=0))


def _per_home(price: Prices, homes: int) -> list[int]:
    if isinstance(price, int):
        return [price] * homes
    values: list[int] = price.tolist()
    return values


class _FillCache(dict[tuple[int, int], StepFill]):
    """Hands out one shared StepFill per distinct (local, grid) pair.

    Most steps are untouched or fully filled, so many fills repeat; sharing immutable objects
    saves building tens of thousands of them in large markets.
    """

    def __missing__(self, key: tuple[int, int]) -> StepFill:
        fill = self[key] = _new_fill(key)
        return fill


def fills(local: IntArray, grid: IntArray) -> tuple[StepFill, ...]:
    return tuple(map(_FillCache().__getitem__, zip(local.tolist(), grid.tolist(), strict=True)))


def slices(values: tuple[StepFill, ...], bounds: IntArray) -> map[tuple[StepFill, ...]]:
    """Each home's run of `values` (slicing a tuple gives a tuple)."""
    at = bounds.tolist()
    return map(values.__getitem__, map(slice, at[:-1], at[1:]))


# tuple.__new__ bound to the NamedTuples: a C call per row, unlike the Python-level _make.
_new_allocation = partial(tuple.__new__, HomeAllocation)
_new_fill = partial(tuple.__new__, StepFill)
