"""Network-constrained clearing: the uniform-price market kept within the feeder's limits.

1. Clear the merit order (clear_uniform_price) and check its dispatch with a LinDistFlow sweep.
2. Within every limit: that is the result, identical to clear_uniform_price, one price everywhere.
3. Otherwise maximise welfare on the feeder (hub.grid.opf, a LinDistFlow LP solved by HiGHS, the
   grid selling at retail and buying at feed-in at the transformer). Steps are grouped per bus and
   price (interchangeable in the LP); each group's dispatch is rounded to whole Wh and rationed over
   its steps like the uniform market rations its marginal level: priority tiers first, then pro
   rata with largest remainders. Which energy is local and which goes to the grid then follows
   the uniform market's rules: only steps at or beyond the grid's prices may use the grid, and the
   local volume is as large as the dispatched energy allows.
4. The LP's duals give every bus a congestion component: the sum of the binding limits' shares of
   its price. The system price is placed by k_percent inside the interval the traded steps allow
   once their levels are moved by their bus's congestion, as in the uniform market. Every price at
   a bus (local, grid import, grid export) is its base price plus the bus's congestion, and each
   bus publishes the limits that moved it.
5. If no dispatch satisfies the limits (demand that cannot be curtailed overloads the feeder) or
   HiGHS fails, the grid backstop decides: the unconstrained merit order, or no local trade at all.
   The reason is logged and returned.

Prices are integers: a bus's congestion is its dual rounded, then kept inside the range its own
trades allow, so nobody pays above their bid or receives below their ask (must-serve demand
excepted: it is served whatever it costs). What the hub collects
beyond the grid's bill and the fees is the congestion rent, reported separately (never negative
in the LP's own numbers; rounding may move it by a few units). Energy is converted to average
power over the interval.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, repeat
from operator import add, attrgetter, mul

import numpy as np
from numpy.typing import NDArray

from hub.grid.errors import FeederError
from hub.grid.lindistflow import PowerFlow, sweep, violations
from hub.grid.model import Feeder
from hub.grid.opf import Blocks, Dispatch, LpStats, NetworkInfeasible, SolverFailed, solve_dispatch
from hub.market.types import (
    MAX_ABS_PRICE,
    ClearingResult,
    HomeAllocation,
    MarketRules,
    Order,
    Step,
    StepFill,
)
from hub.market.uniform_price import clear_uniform_price

_LOGGER = logging.getLogger(__name__)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

BACKSTOPS = ("merit_order", "no_local_trade")
# Bid prices beyond this only say "serve me first"; clipping keeps the LP well scaled.
LP_PRICE_CAP = 10**6
# A limit is named as a reason for a bus's price when its share is at least this (minor/kWh).
REASON_SHARE = 0.05
_PRICE_SPAN = 2 * MAX_ABS_PRICE + 1
_HOME_ID = attrgetter("home_id")
_FLOWS = attrgetter("bought_local_wh", "sold_local_wh", "bought_grid_wh", "sold_grid_wh")


@dataclass(frozen=True, slots=True)
class NetworkOptions:
    """How the network is enforced.

    must_serve_price: buy steps priced at or above it (and at least at the retail price) are
      demand the hub cannot curtail; if the feeder cannot carry them the backstop decides.
      None: every step may be curtailed.
    backstop: what clears when the network cannot be satisfied: "merit_order" (the market as if
      the feeder were unlimited) or "no_local_trade" (everyone trades with the grid only).
    voltage_margin_pu: tightens the voltage band on both sides, to cover the LinDistFlow error.
    loading_limit: the highest branch loading allowed (1.0 = thermal limit). LinDistFlow loading is
      apparent power over the limit at nominal voltage; the current is higher by 1/V below 1 p.u.,
      so 0.95 keeps currents within the rating anywhere inside a 0.95-1.05 p.u. band.
    presolve: HiGHS presolve; off by default (it does not pay on these models).
    always_lp: solve the LP even when the merit order is within limits (tests and benchmarks).
    """

    must_serve_price: int | None = None
    backstop: str = "merit_order"
    voltage_margin_pu: float = 0.0
    loading_limit: float = 1.0
    presolve: bool = False
    always_lp: bool = False

    def __post_init__(self) -> None:
        if self.backstop not in BACKSTOPS:
            raise ValueError(f"backstop must be one of {BACKSTOPS}, got {self.backstop!r}")
        if not 0.0 <= self.voltage_margin_pu < 0.05:
            raise ValueError(
                f"voltage_margin_pu must be within [0, 0.05), got {self.voltage_margin_pu}"
            )
        if not 0.5 <= self.loading_limit <= 1.0:
            raise ValueError(f"loading_limit must be within [0.5, 1], got {self.loading_limit}")
        price = self.must_serve_price
        if price is not None and (isinstance(price, bool) or not isinstance(price, int)):
            raise ValueError(f"must_serve_price must be an int or None, got {price!r}")


@dataclass(frozen=True, slots=True)
class BindingLimit:
    """A network limit that constrained the clearing.

    kind: 'thermal' (element: line or transformer name; limit/value: loading, 1.0 = rated) or
    'voltage_max' / 'voltage_min' (element: "bus <id>"; limit/value: voltage in p.u.). `value`
    is the LinDistFlow estimate at the LP's optimum.
    """

    kind: str
    element: str
    limit: float
    value: float

    def describe(self) -> str:
        if self.kind == "thermal":
            return f"{self.element} at its thermal limit"
        bound = "maximum" if self.kind == "voltage_max" else "minimum"
        return f"voltage at {self.element} at its {self.limit:g} p.u. {bound}"


@dataclass(frozen=True, slots=True)
class NodalPrice:
    """What energy costs at `bus`: every price there is its base price plus `congestion`.

    price: local trades (system price + congestion; None when nothing trades locally);
    import_price / export_price: grid trades (retail / feed-in + congestion). `reasons` are the
    limits that moved the bus's price, strongest first.
    """

    bus: int
    price: int | None
    import_price: int
    export_price: int
    congestion: int
    reasons: tuple[BindingLimit, ...]


@dataclass(frozen=True, slots=True)
class Curtailment:
    """Dispatch hint: energy the merit order gave a home that the network could not carry (Wh)."""

    home_id: str
    bus: int
    buy_wh: int
    sell_wh: int


@dataclass(frozen=True, slots=True, eq=False)
class NetworkClearing:
    """Outcome of one interval on a feeder.

    `clearing` has the same shape as clear_uniform_price's result (its price is the system price)
    so results, dispatch and the ledger work unchanged. method: "merit_order" (no limit binds),
    "lp" (network-constrained) or "backstop" (see fallback_reason). `flow` is the LinDistFlow
    estimate of the cleared dispatch (None when some home has no bus).
    """

    clearing: ClearingResult
    method: str
    nodal_prices: tuple[NodalPrice, ...]
    binding: tuple[BindingLimit, ...]
    curtailment: tuple[Curtailment, ...]
    congestion_rent_mminor: int
    fallback_reason: str | None
    flow: PowerFlow | None
    lp: LpStats | None

    def price_at(self, bus: int) -> NodalPrice:
        for nodal in self.nodal_prices:
            if nodal.bus == bus:
                return nodal
        raise FeederError(f"bus {bus}", "is not a bus of this feeder")


def clear_network(
    orders: Sequence[Order],
    rules: MarketRules,
    feeder: Feeder,
    *,
    interval_seconds: int,
    options: NetworkOptions | None = None,
) -> NetworkClearing:
    """Clear one interval within the feeder's limits. Deterministic in its inputs.

    Every home with an order must be attached to a bus in `feeder.homes`; otherwise the backstop
    clears (with the reason) because the network cannot be checked.
    """
    if isinstance(interval_seconds, bool) or not isinstance(interval_seconds, int):
        raise ValueError(f"interval_seconds must be an int, got {interval_seconds!r}")
    if interval_seconds <= 0:
        raise ValueError(f"interval_seconds must be > 0, got {interval_seconds}")
    options = options or NetworkOptions()
    merit = clear_uniform_price(orders, rules)
    homes = sorted(orders, key=_HOME_ID)
    kw_per_wh = 3.6 / interval_seconds
    unplaced = [a.home_id for a in merit.allocations if a.home_id not in feeder.homes]
    if unplaced:
        reason = f"home {unplaced[0]!r} has no bus on feeder {feeder.name!r}"
        return _backstop(homes, rules, feeder, merit, None, kw_per_wh, options, reason)
    buses = map(feeder.homes.__getitem__, map(_HOME_ID, merit.allocations))
    positions = np.fromiter(
        map(feeder.tree.position.__getitem__, buses), np.int64, len(merit.allocations)
    )
    merit_flow = sweep(feeder, _bus_load_kw(merit.allocations, positions, feeder, kw_per_wh))
    within = not violations(
        feeder,
        merit_flow,
        margin_pu=options.voltage_margin_pu,
        loading_limit=options.loading_limit,
    )
    if within and not options.always_lp:
        return _unconstrained(merit, rules, feeder, merit_flow, "merit_order", None)

    market = _Market.build(homes, positions, rules, options, kw_per_wh)
    try:
        dispatch = solve_dispatch(
            feeder,
            market.blocks,
            voltage_margin_pu=options.voltage_margin_pu,
            loading_limit=options.loading_limit,
            presolve=options.presolve,
        )
    except NetworkInfeasible:
        reason = _infeasibility_reason(feeder, market, options)
        return _backstop(homes, rules, feeder, merit, positions, kw_per_wh, options, reason)
    except SolverFailed as error:
        return _backstop(homes, rules, feeder, merit, positions, kw_per_wh, options, str(error))
    return _constrained(homes, rules, feeder, merit, positions, market, dispatch)


# --- the fast path and the backstop ---------------------------------------------------------------


def _bus_load_kw(
    allocations: Sequence[HomeAllocation], positions: IntArray, feeder: Feeder, kw_per_wh: float
) -> FloatArray:
    """Net load per tree position (kW, consumption positive) of a set of allocations."""
    flows = np.fromiter(
        chain.from_iterable(map(_FLOWS, allocations)), np.int64, 4 * len(allocations)
    ).reshape(-1, 4)
    net = (flows[:, 0] + flows[:, 2] - flows[:, 1] - flows[:, 3]).astype(np.float64)
    load = np.bincount(positions, net * kw_per_wh, minlength=feeder.tree.size)
    return load.astype(np.float64)


def _unconstrained(
    result: ClearingResult,
    rules: MarketRules,
    feeder: Feeder,
    flow: PowerFlow | None,
    method: str,
    reason: str | None,
) -> NetworkClearing:
    retail, feed_in = rules.retail_price, rules.feed_in_price
    nodal = tuple(
        NodalPrice(bus, result.price, retail, feed_in, 0, ()) for bus in sorted(feeder.bus_ids)
    )
    return NetworkClearing(result, method, nodal, (), (), 0, reason, flow, None)


def _backstop(
    homes: list[Order],
    rules: MarketRules,
    feeder: Feeder,
    merit: ClearingResult,
    positions: IntArray | None,
    kw_per_wh: float,
    options: NetworkOptions,
    reason: str,
) -> NetworkClearing:
    _LOGGER.warning("network clearing fell back to the %s backstop: %s", options.backstop, reason)
    result = merit if options.backstop == "merit_order" else _grid_only(homes, rules)
    flow = None
    if positions is not None:
        flow = sweep(feeder, _bus_load_kw(result.allocations, positions, feeder, kw_per_wh))
    return _unconstrained(result, rules, feeder, flow, "backstop", reason)


def _grid_only(homes: list[Order], rules: MarketRules) -> ClearingResult:
    """No local trade: steps priced at or beyond the grid's prices trade with the grid."""
    buy, sell = _Steps.of(homes, attrgetter("buy")), _Steps.of(homes, attrgetter("sell"))
    buy_grid = np.where(buy.price >= rules.retail_price, buy.energy, 0)
    sell_grid = np.where(sell.price <= rules.feed_in_price, sell.energy, 0)
    zero_buy, zero_sell = np.zeros_like(buy_grid), np.zeros_like(sell_grid)
    count = len(homes)
    prices = ([0] * count, [rules.retail_price] * count, [rules.feed_in_price] * count)
    allocations = _allocations(
        homes, rules.fee_per_kwh, prices, (buy, zero_buy, buy_grid), (sell, zero_sell, sell_grid)
    )
    return ClearingResult(
        None, None, None, 0, 0, 0, int(buy_grid.sum()), int(sell_grid.sum()), allocations
    )


def _infeasibility_reason(feeder: Feeder, market: _Market, options: NetworkOptions) -> str:
    source = feeder.transformer.voltage_pu
    low = feeder.v_min_pu + options.voltage_margin_pu
    high = feeder.v_max_pu - options.voltage_margin_pu
    if not low <= source <= high:
        return f"transformer voltage {source:g} p.u. is outside the band {low:g}-{high:g} p.u."
    blocks = market.blocks
    floor_load = np.bincount(
        blocks.position, -blocks.sign * blocks.lower_kw, minlength=feeder.tree.size
    )
    broken = violations(
        feeder,
        sweep(feeder, floor_load.astype(np.float64)),
        margin_pu=options.voltage_margin_pu,
        loading_limit=options.loading_limit,
    )
    if broken:
        first = broken[0]
        return (
            f"demand that cannot be curtailed alone breaks the {first.kind} limit of "
            f"{first.element} ({first.value:.3f} against {first.limit:g})"
        )
    return "no dispatch keeps the feeder within its limits"


# --- the constrained market -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Steps:
    """All steps of one side, flattened home by home (homes in home_id order)."""

    price: IntArray
    energy: IntArray
    home: IntArray  # rank of the step's home
    index: IntArray  # position of the step in its home's curve
    bounds: IntArray  # home i owns steps bounds[i]:bounds[i + 1]

    @classmethod
    def of(cls, homes: list[Order], curve: Callable[[Order], tuple[Step, ...]]) -> _Steps:
        curves = list(map(curve, homes))
        counts = np.fromiter(map(len, curves), np.int64, len(curves))
        steps = list(chain.from_iterable(curves))
        bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        home = np.repeat(np.arange(len(homes), dtype=np.int64), counts)
        return cls(
            price=np.fromiter(map(attrgetter("price"), steps), np.int64, len(steps)),
            energy=np.fromiter(map(attrgetter("energy_wh"), steps), np.int64, len(steps)),
            home=home,
            index=np.arange(len(steps), dtype=np.int64) - bounds[home],
            bounds=bounds,
        )


@dataclass(frozen=True, slots=True, eq=False)
class _Groups:
    """Steps of one side grouped by (bus position, price): interchangeable in the LP, which
    dispatches each group as one block."""

    of_step: IntArray
    position: IntArray
    price: IntArray
    energy: IntArray

    @classmethod
    def of(cls, steps: _Steps, home_position: IntArray) -> _Groups:
        position = home_position[steps.home]
        key = position * _PRICE_SPAN + (steps.price + MAX_ABS_PRICE)
        keys, of_step = np.unique(key, return_inverse=True)
        energy = np.bincount(of_step, steps.energy, minlength=len(keys)).astype(np.int64)
        price = keys % _PRICE_SPAN - MAX_ABS_PRICE
        return cls(of_step.astype(np.int64), keys // _PRICE_SPAN, price, energy)


@dataclass(frozen=True, slots=True, eq=False)
class _Market:
    buy: _Steps
    sell: _Steps
    buy_groups: _Groups  # blocks 0..len-1
    sell_groups: _Groups  # the blocks after them
    priority: IntArray  # per home
    must_serve: BoolArray  # per buy group
    blocks: Blocks
    kw_per_wh: float

    @classmethod
    def build(
        cls,
        homes: list[Order],
        home_position: IntArray,
        rules: MarketRules,
        options: NetworkOptions,
        kw_per_wh: float,
    ) -> _Market:
        retail, feed_in, fee = rules.retail_price, rules.feed_in_price, rules.fee_per_kwh
        buy, sell = _Steps.of(homes, attrgetter("buy")), _Steps.of(homes, attrgetter("sell"))
        bg, sg = _Groups.of(buy, home_position), _Groups.of(sell, home_position)
        must = np.zeros(len(bg.price), dtype=np.bool_)
        if options.must_serve_price is not None:
            must = bg.price >= max(options.must_serve_price, retail)
        buy_kw = bg.energy.astype(np.float64) * kw_per_wh
        sell_kw = sg.energy.astype(np.float64) * kw_per_wh
        # Objective per kW, minimised: a purchase is worth its price less the fee, a sale costs its
        # price plus the fee. The grid is one more seller at retail and buyer at feed-in, both
        # quoted net of the fee so that trading with the grid carries none. When the fees exceed
        # the grid's spread no local trade can ever pay: then there is no fee, and the steps that
        # could only trade locally are left out (upper bound 0).
        local = _local_trade_possible(rules)
        lp_fee = float(fee) if local else 0.0
        if not local:
            buy_kw = np.where(bg.price >= retail, buy_kw, 0.0)
            sell_kw = np.where(sg.price <= feed_in, sell_kw, 0.0)
        blocks = Blocks(
            position=np.concatenate((bg.position, sg.position)),
            sign=np.concatenate((-np.ones(len(bg.price)), np.ones(len(sg.price)))),
            cost=np.concatenate(
                (
                    lp_fee - np.clip(bg.price, -LP_PRICE_CAP, LP_PRICE_CAP).astype(np.float64),
                    np.clip(sg.price, -LP_PRICE_CAP, LP_PRICE_CAP).astype(np.float64) + lp_fee,
                )
            ),
            lower_kw=np.concatenate((np.where(must, buy_kw, 0.0), np.zeros(len(sg.price)))),
            upper_kw=np.concatenate((buy_kw, sell_kw)),
            import_cost=retail - lp_fee,
            export_value=feed_in + lp_fee,
        )
        priority = np.fromiter(map(attrgetter("priority"), homes), np.int64, len(homes))
        return cls(buy, sell, bg, sg, priority, must, blocks, kw_per_wh)


def _constrained(
    homes: list[Order],
    rules: MarketRules,
    feeder: Feeder,
    merit: ClearingResult,
    positions: IntArray,
    market: _Market,
    dispatch: Dispatch,
) -> NetworkClearing:
    wh = dispatch.dispatch_kw / market.kw_per_wh
    bg, sg = market.buy_groups, market.sell_groups
    buy, sell, priority = market.buy, market.sell, market.priority
    buy_total = _ration(
        buy,
        bg.of_step,
        priority,
        _whole(wh[: len(bg.price)], bg.energy, market.must_serve),
        buy.energy,
    )
    no_must = np.zeros(len(sg.price), dtype=np.bool_)
    sell_total = _ration(
        sell, sg.of_step, priority, _whole(wh[len(bg.price) :], sg.energy, no_must), sell.energy
    )
    buy_local, buy_grid, sell_local, sell_grid = _split(rules, market, buy_total, sell_total)
    volume = int(buy_local.sum())

    fills = _GroupFills(
        np.bincount(bg.of_step, buy_local, minlength=len(bg.price)).astype(np.int64),
        np.bincount(bg.of_step, buy_grid, minlength=len(bg.price)).astype(np.int64),
        np.bincount(sg.of_step, sell_local, minlength=len(sg.price)).astype(np.int64),
        np.bincount(sg.of_step, sell_grid, minlength=len(sg.price)).astype(np.int64),
    )
    pricing = _Pricing.of(feeder, rules, dispatch, market, fills)
    congestion = pricing.congestion[positions].tolist()
    local = pricing.price or 0  # without local trade only grid flows are paid
    prices = (
        [local + g for g in congestion],
        [rules.retail_price + g for g in congestion],
        [rules.feed_in_price + g for g in congestion],
    )
    allocations = _allocations(
        homes, rules.fee_per_kwh, prices, (buy, buy_local, buy_grid), (sell, sell_local, sell_grid)
    )
    fee = rules.fee_per_kwh
    buy_level = np.minimum(buy.price, rules.retail_price) - fee
    sell_level = np.maximum(sell.price, rules.feed_in_price) + fee
    result = ClearingResult(
        price=pricing.price,
        price_low=pricing.price_low,
        price_high=pricing.price_high,
        volume_wh=volume,
        welfare_mminor=_exact_dot(buy_level, buy_local) - _exact_dot(sell_level, sell_local),
        fees_mminor=2 * fee * volume,
        grid_import_wh=int(buy_grid.sum()),
        grid_export_wh=int(sell_grid.sum()),
        allocations=allocations,
    )
    binding = tuple(BindingLimit(b.kind, b.element, b.limit, b.value) for b in dispatch.binding)
    # What the hub keeps: every trade at a bus pays that bus's congestion on top of its base price.
    rent = sum(
        g * (a.bought_local_wh + a.bought_grid_wh - a.sold_local_wh - a.sold_grid_wh)
        for g, a in zip(congestion, allocations, strict=True)
    )
    flow = sweep(feeder, _bus_load_kw(allocations, positions, feeder, market.kw_per_wh))
    return NetworkClearing(
        clearing=result,
        method="lp",
        nodal_prices=_nodal_prices(feeder, rules, pricing, dispatch, binding),
        binding=binding,
        curtailment=_curtailment(feeder, merit, allocations, positions),
        congestion_rent_mminor=rent,
        fallback_reason=None,
        flow=flow,
        lp=dispatch.stats,
    )


def _whole(wanted: FloatArray, capacity: IntArray, must_serve: BoolArray) -> IntArray:
    """Whole Wh dispatched per group: never more than the LP's dispatch (rounded down, but not
    below what solver tolerance leaves short of a whole Wh); must-serve groups in full."""
    rounded = np.clip(np.floor(wanted + 1e-6), 0, capacity).astype(np.int64)
    return np.where(must_serve, capacity, rounded)


def _split(
    rules: MarketRules, market: _Market, buy_total: IntArray, sell_total: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Local and grid Wh per step, by the uniform market's rules: only purchases at or above
    retail and sales at or below feed-in may use the grid; the local volume is as large as the
    dispatched energy allows; the local share of the grid-capable steps is rationed like a
    marginal price level (priority tiers, then pro rata)."""
    buy, sell, priority = market.buy, market.sell, market.priority
    buy_flex = buy.price >= rules.retail_price
    sell_flex = sell.price <= rules.feed_in_price
    buy_only_local = int(buy_total[~buy_flex].sum())
    sell_only_local = int(sell_total[~sell_flex].sum())
    volume = min(int(buy_total.sum()), int(sell_total.sum()))
    if not _local_trade_possible(rules):
        volume = 0
    # Steps that can only trade locally get the volume first; should rounding have dispatched
    # more of them than the volume, the excess is curtailed rather than sold to the grid.
    buy_local = _ration_subset(buy, ~buy_flex, priority, min(buy_only_local, volume), buy_total)
    buy_local += _ration_subset(buy, buy_flex, priority, volume - int(buy_local.sum()), buy_total)
    sell_local = _ration_subset(
        sell, ~sell_flex, priority, min(sell_only_local, volume), sell_total
    )
    sell_local += _ration_subset(
        sell, sell_flex, priority, volume - int(sell_local.sum()), sell_total
    )
    buy_grid = np.where(buy_flex, buy_total - buy_local, 0).astype(np.int64)
    sell_grid = np.where(sell_flex, sell_total - sell_local, 0).astype(np.int64)
    return buy_local, buy_grid, sell_local, sell_grid


def _local_trade_possible(rules: MarketRules) -> bool:
    """A local trade needs buyer level >= seller level; the best case is retail against feed-in."""
    return rules.retail_price - rules.fee_per_kwh >= rules.feed_in_price + rules.fee_per_kwh


def _ration_subset(
    steps: _Steps, subset: BoolArray, priority: IntArray, amount: int, capacity: IntArray
) -> IntArray:
    """Ration `amount` over the steps of `subset` as one marginal level."""
    everyone = np.zeros(len(steps.price), dtype=np.int64)
    within = np.where(subset, capacity, 0).astype(np.int64)
    return _ration(steps, everyone, priority, np.array([amount], dtype=np.int64), within)


def _ration(
    steps: _Steps, of_step: IntArray, priority: IntArray, amount: IntArray, capacity: IntArray
) -> IntArray:
    """Spread each group's whole Wh over its steps' capacity like the uniform market's margin:
    whole priority tiers first (highest first), then pro rata with largest remainders; ties go to
    the lower home_id, then the earlier step."""
    group_capacity = np.bincount(of_step, capacity, minlength=len(amount)).astype(np.int64)
    full = amount[of_step] >= group_capacity[of_step]
    fill = np.where(full, capacity, 0).astype(np.int64)
    partial = np.flatnonzero((amount > 0) & (amount < group_capacity))
    if len(partial) == 0:
        return fill
    members = np.flatnonzero(np.isin(of_step, partial) & (capacity > 0))
    order = np.lexsort(
        (
            steps.index[members],
            steps.home[members],
            -priority[steps.home[members]],
            of_step[members],
        )
    )
    members = members[order]
    starts = np.searchsorted(of_step[members], partial)
    ends = np.append(starts[1:], len(members))
    for group, start, end in zip(partial.tolist(), starts.tolist(), ends.tolist(), strict=True):
        chosen = members[start:end]
        tiers = priority[steps.home[chosen]].tolist()
        fill[chosen] = _tiered(capacity[chosen].tolist(), tiers, int(amount[group]))
    return fill


def _tiered(capacity: list[int], tiers: list[int], amount: int) -> list[int]:
    """Fill `amount` over steps sorted by tier (descending): whole tiers, then pro rata."""
    fill = [0] * len(capacity)
    start = 0
    while amount > 0 and start < len(capacity):
        end = start
        while end < len(capacity) and tiers[end] == tiers[start]:
            end += 1
        total = sum(capacity[start:end])
        if total <= amount:
            fill[start:end] = capacity[start:end]
            amount -= total
        else:
            shares = [c * amount // total for c in capacity[start:end]]
            remainders = [c * amount % total for c in capacity[start:end]]
            leftover = amount - sum(shares)
            # Largest remainders win one Wh each; sorted() is stable, so earlier steps win ties.
            for index in sorted(range(end - start), key=lambda i: -remainders[i])[:leftover]:
                shares[index] += 1
            fill[start:end] = shares
            amount = 0
        start = end
    return fill


@dataclass(frozen=True, slots=True)
class _GroupFills:
    buy_local: IntArray
    buy_grid: IntArray
    sell_local: IntArray
    sell_grid: IntArray


@dataclass(frozen=True, slots=True, eq=False)
class _Pricing:
    price: int | None
    price_low: int | None
    price_high: int | None
    congestion: IntArray  # per tree position

    @classmethod
    def of(
        cls,
        feeder: Feeder,
        rules: MarketRules,
        dispatch: Dispatch,
        market: _Market,
        fills: _GroupFills,
    ) -> _Pricing:
        """System price as in the uniform market but on congestion-adjusted levels; then one
        integer congestion per bus, as close to its dual as every trade there allows."""
        n = feeder.tree.size
        bg, sg = market.buy_groups, market.sell_groups
        # Each bus's congestion component: the binding limits' shares of its price.
        dual = dispatch.contribution.sum(axis=0) if len(dispatch.binding) else np.zeros(n)
        fee, retail, feed_in = rules.fee_per_kwh, rules.retail_price, rules.feed_in_price
        traded_buy, traded_sell = fills.buy_local > 0, fills.sell_local > 0
        lowest = np.full(n, -np.inf)  # bounds on each bus's congestion from its own trades
        highest = np.full(n, np.inf)
        price = price_low = price_high = None
        if traded_buy.any() and traded_sell.any():
            buy_price, at_buy = bg.price[traded_buy], bg.position[traded_buy]
            sell_price, at_sell = sg.price[traded_sell], sg.position[traded_sell]
            # Levels as in the uniform market, on prices moved back to the transformer by their
            # bus's congestion (where the grid's prices are retail and feed-in).
            high = float(np.min(np.minimum(buy_price - dual[at_buy], retail) - fee))
            low = float(np.max(np.maximum(sell_price - dual[at_sell], feed_in) + fee))
            if low > high:  # only solver tolerance can cause this
                low = high = (low + high) / 2
            system = low + rules.k_percent * (high - low) / 100
            price = math.floor(system + 1e-9)
            price_low, price_high = math.floor(low + 1e-9), math.ceil(high - 1e-9)
            # Local buyers pay price + congestion + fee <= bid; sellers get it - fee >= ask.
            # Must-serve demand is served whatever it costs, so it sets no bound.
            flexible = ~market.must_serve[traded_buy]
            np.minimum.at(
                highest,
                at_buy[flexible],
                (buy_price[flexible] - fee - price).astype(np.float64),
            )
            np.maximum.at(lowest, at_sell, (sell_price + fee - price).astype(np.float64))
        grid_buy = (fills.buy_grid > 0) & ~market.must_serve
        grid_sell = fills.sell_grid > 0
        np.minimum.at(
            highest,
            bg.position[grid_buy],
            (bg.price[grid_buy] - rules.retail_price).astype(np.float64),
        )
        np.maximum.at(
            lowest,
            sg.position[grid_sell],
            (sg.price[grid_sell] - rules.feed_in_price).astype(np.float64),
        )
        # Nobody pays above their bid: the buyers' bound wins if rounding left no room.
        congestion = np.minimum(np.maximum(np.round(dual), lowest), highest).astype(np.int64)
        return cls(price, price_low, price_high, congestion)


def _nodal_prices(
    feeder: Feeder,
    rules: MarketRules,
    pricing: _Pricing,
    dispatch: Dispatch,
    binding: tuple[BindingLimit, ...],
) -> tuple[NodalPrice, ...]:
    nodal = []
    for bus in sorted(feeder.bus_ids):
        position = feeder.tree.position[bus]
        g = int(pricing.congestion[position])
        reasons: tuple[BindingLimit, ...] = ()
        if g != 0:  # a bus whose price did not move has no reason to give
            shares = dispatch.contribution[:, position]
            strongest = np.argsort(-np.abs(shares), kind="stable").tolist()
            reasons = tuple(binding[k] for k in strongest if abs(shares[k]) >= REASON_SHARE)
        local = None if pricing.price is None else pricing.price + g
        nodal.append(
            NodalPrice(bus, local, rules.retail_price + g, rules.feed_in_price + g, g, reasons)
        )
    return tuple(nodal)


def _curtailment(
    feeder: Feeder,
    merit: ClearingResult,
    allocations: tuple[HomeAllocation, ...],
    positions: IntArray,
) -> tuple[Curtailment, ...]:
    cut = []
    for before, after, position in zip(
        merit.allocations, allocations, positions.tolist(), strict=True
    ):
        buy = (
            before.bought_local_wh
            + before.bought_grid_wh
            - after.bought_local_wh
            - after.bought_grid_wh
        )
        sell = before.sold_local_wh + before.sold_grid_wh - after.sold_local_wh - after.sold_grid_wh
        if buy > 0 or sell > 0:
            bus = feeder.bus_ids[position]
            cut.append(Curtailment(after.home_id, bus, max(buy, 0), max(sell, 0)))
    return tuple(cut)


# --- result objects (the same shape as the uniform market's) -------------------------------------


def _exact_dot(prices: IntArray, energy: IntArray) -> int:
    traded = np.flatnonzero(energy)
    return sum(p * e for p, e in zip(prices[traded].tolist(), energy[traded].tolist(), strict=True))


def _segment_sums(values: IntArray, bounds: IntArray) -> list[int]:
    cumulative = np.concatenate(([0], np.cumsum(values)))
    totals: list[int] = np.diff(cumulative[bounds]).tolist()
    return totals


class _FillCache(dict[tuple[int, int], StepFill]):
    """One shared StepFill per distinct (local, grid) pair: most fills repeat (0 or full)."""

    def __missing__(self, key: tuple[int, int]) -> StepFill:
        fill = self[key] = _new_fill(key)
        return fill


def _fills(local: IntArray, grid: IntArray) -> list[StepFill]:
    return list(map(_FillCache().__getitem__, zip(local.tolist(), grid.tolist(), strict=True)))


# tuple.__new__ bound to the NamedTuple types: one C call per row.
_new_fill = partial(tuple.__new__, StepFill)
_new_allocation = partial(tuple.__new__, HomeAllocation)


def _allocations(
    homes: list[Order],
    fee: int,
    prices: tuple[list[int], list[int], list[int]],
    buy_flows: tuple[_Steps, IntArray, IntArray],
    sell_flows: tuple[_Steps, IntArray, IntArray],
) -> tuple[HomeAllocation, ...]:
    """Per-home results. prices: the local, import and export price of each home; each flows
    tuple is (steps, local Wh per step, grid Wh per step). Money is exact (Python integers) and
    the loops run in C through map(), which matters at 10,000 homes."""
    (buy, buy_local, buy_grid), (sell, sell_local, sell_grid) = buy_flows, sell_flows
    local, imports, exports = prices
    bl, sl = _segment_sums(buy_local, buy.bounds), _segment_sums(sell_local, sell.bounds)
    bg, sg = _segment_sums(buy_grid, buy.bounds), _segment_sums(sell_grid, sell.bounds)
    paid = map(add, map(mul, [p + fee for p in local], bl), map(mul, imports, bg))
    received = map(add, map(mul, [p - fee for p in local], sl), map(mul, exports, sg))
    fees = map(mul, repeat(fee), map(add, bl, sl))
    rows = zip(
        map(_HOME_ID, homes),
        bl,
        sl,
        bg,
        sg,
        _slices(_fills(buy_local, buy_grid), buy.bounds),
        _slices(_fills(sell_local, sell_grid), sell.bounds),
        paid,
        received,
        fees,
        strict=True,
    )
    return tuple(map(_new_allocation, rows))


def _slices(fills: list[StepFill], bounds: IntArray) -> Iterator[tuple[StepFill, ...]]:
    at = bounds.tolist()
    return map(tuple, map(fills.__getitem__, map(slice, at[:-1], at[1:])))
