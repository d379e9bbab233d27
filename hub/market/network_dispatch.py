"""From the feeder LP's dispatch to the market's result: whole Wh, rationing, local or grid.

Each (bus, price) group's dispatch is rounded down to whole Wh and rationed over its steps like the
uniform market rations its marginal level (priority tiers, then pro rata with largest remainders).
Which energy is local and which goes to the grid follows the uniform market's rules: only steps at
or beyond the grid's prices may use the grid, and the local volume is as large as the dispatched
energy allows. Prices come from hub.market.nodal_prices.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np
from numpy.typing import NDArray

from hub.grid.lindistflow import sweep
from hub.grid.model import Feeder
from hub.grid.opf import Dispatch
from hub.market.kernels import Flows, IntArray, allocations, exact_dot, ration
from hub.market.network_market import BoolArray, DispatchMarket, SideSteps, local_trade_possible
from hub.market.network_types import BindingLimit, Curtailment, NetworkClearing
from hub.market.nodal_prices import GroupFills, Pricing, nodal_prices
from hub.market.types import ClearingResult, HomeAllocation, MarketRules, Order

FloatArray = NDArray[np.float64]

_FLOWS = attrgetter("bought_local_wh", "sold_local_wh", "bought_grid_wh", "sold_grid_wh")


def constrained_clearing(
    homes: list[Order],
    rules: MarketRules,
    feeder: Feeder,
    merit: ClearingResult,
    positions: IntArray,
    market: DispatchMarket,
    dispatch: Dispatch,
) -> NetworkClearing:
    """The result of an optimal dispatch; `merit` (the unconstrained market) tells curtailment."""
    wh = dispatch.dispatch_kw / market.kw_per_wh
    bg, sg = market.buy_groups, market.sell_groups
    buy, sell, priority = market.buy, market.sell, market.priority
    no_must = np.zeros(len(sg.price), dtype=np.bool_)
    buy_dispatched = _whole(wh[: len(bg.price)], bg.energy, market.must_serve)
    sell_dispatched = _whole(wh[len(bg.price) :], sg.energy, no_must)
    buy_total = _ration_groups(buy, bg.of_step, priority, buy_dispatched, buy.steps.energy)
    sell_total = _ration_groups(sell, sg.of_step, priority, sell_dispatched, sell.steps.energy)
    buy_local, buy_grid, sell_local, sell_grid = _split(rules, market, buy_total, sell_total)
    volume = int(buy_local.sum())

    fills = GroupFills(
        buy_dispatched,
        np.bincount(bg.of_step, buy_local, minlength=len(bg.price)).astype(np.int64),
        np.bincount(bg.of_step, buy_grid, minlength=len(bg.price)).astype(np.int64),
        sell_dispatched,
        np.bincount(sg.of_step, sell_local, minlength=len(sg.price)).astype(np.int64),
        np.bincount(sg.of_step, sell_grid, minlength=len(sg.price)).astype(np.int64),
    )
    pricing = Pricing.of(feeder, rules, dispatch, market, fills)
    congestion = pricing.congestion[positions]
    local = pricing.price or 0  # without local trade only grid flows are paid
    fee = rules.fee_per_kwh
    rows = allocations(
        homes,
        fee,
        (local + congestion, rules.retail_price + congestion, rules.feed_in_price + congestion),
        Flows(buy.steps, buy_local, buy_grid),
        Flows(sell.steps, sell_local, sell_grid),
    )
    buy_level = np.minimum(buy.steps.price, rules.retail_price) - fee
    sell_level = np.maximum(sell.steps.price, rules.feed_in_price) + fee
    result = ClearingResult(
        price=pricing.price,
        price_low=pricing.price_low,
        price_high=pricing.price_high,
        volume_wh=volume,
        welfare_mminor=exact_dot(buy_level, buy_local) - exact_dot(sell_level, sell_local),
        fees_mminor=2 * fee * volume,
        grid_import_wh=int(buy_grid.sum()),
        grid_export_wh=int(sell_grid.sum()),
        allocations=rows,
    )
    binding = tuple(BindingLimit(b.kind, b.element, b.limit, b.value) for b in dispatch.binding)
    # What the hub keeps: every trade at a bus pays that bus's congestion on top of its base price.
    rent = sum(
        g * (a.bought_local_wh + a.bought_grid_wh - a.sold_local_wh - a.sold_grid_wh)
        for g, a in zip(congestion.tolist(), rows, strict=True)
    )
    flow = sweep(feeder, bus_load_kw(rows, positions, feeder, market.kw_per_wh))
    return NetworkClearing(
        clearing=result,
        method="lp",
        nodal_prices=nodal_prices(feeder, rules, pricing, dispatch, binding),
        binding=binding,
        curtailment=_curtailment(feeder, merit, rows, positions),
        congestion_rent_mminor=rent,
        fallback_reason=None,
        flow=flow,
        lp=dispatch.stats,
    )


def bus_load_kw(
    rows: Sequence[HomeAllocation], positions: IntArray, feeder: Feeder, kw_per_wh: float
) -> FloatArray:
    """Net load per tree position (kW, consumption positive) of a set of allocations."""
    flows = np.fromiter(chain.from_iterable(map(_FLOWS, rows)), np.int64, 4 * len(rows)).reshape(
        -1, 4
    )
    net = (flows[:, 0] + flows[:, 2] - flows[:, 1] - flows[:, 3]).astype(np.float64)
    load = np.bincount(positions, net * kw_per_wh, minlength=feeder.tree.size)
    return load.astype(np.float64)


def _whole(wanted: FloatArray, capacity: IntArray, must_serve: BoolArray) -> IntArray:
    """Whole Wh dispatched per group: never more than the LP's dispatch (rounded down, but not
    below what solver tolerance leaves short of a whole Wh); must-serve groups in full."""
    rounded = np.clip(np.floor(wanted + 1e-6), 0, capacity).astype(np.int64)
    return np.where(must_serve, capacity, rounded)


def _split(
    rules: MarketRules, market: DispatchMarket, buy_total: IntArray, sell_total: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Local and grid Wh per step, by the uniform market's rules: only purchases at or above
    retail and sales at or below feed-in may use the grid; the local volume is as large as the
    dispatched energy allows; the local share of the grid-capable steps is rationed like a
    marginal price level (priority tiers, then pro rata)."""
    buy, sell, priority = market.buy, market.sell, market.priority
    buy_flex = buy.steps.price >= rules.retail_price
    sell_flex = sell.steps.price <= rules.feed_in_price
    buy_only_local = int(buy_total[~buy_flex].sum())
    sell_only_local = int(sell_total[~sell_flex].sum())
    volume = min(int(buy_total.sum()), int(sell_total.sum()))
    if not local_trade_possible(rules):
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


def _ration_subset(
    side: SideSteps, subset: BoolArray, priority: IntArray, amount: int, capacity: IntArray
) -> IntArray:
    """Ration `amount` over the steps of `subset` as one marginal level."""
    everyone = np.zeros(len(side.steps.price), dtype=np.int64)
    within = np.where(subset, capacity, 0).astype(np.int64)
    return _ration_groups(side, everyone, priority, np.array([amount], dtype=np.int64), within)


def _ration_groups(
    side: SideSteps, of_step: IntArray, priority: IntArray, amount: IntArray, capacity: IntArray
) -> IntArray:
    """Spread each group's whole Wh over its steps' capacity, rationing a group that cannot be
    served in full like the uniform market's marginal level (kernels.ration)."""
    group_capacity = np.bincount(of_step, capacity, minlength=len(amount)).astype(np.int64)
    full = amount[of_step] >= group_capacity[of_step]
    fill = np.where(full, capacity, 0).astype(np.int64)
    partial = np.flatnonzero((amount > 0) & (amount < group_capacity))
    if len(partial) == 0:
        return fill
    members = np.flatnonzero(np.isin(of_step, partial) & (capacity > 0))
    members = members[np.argsort(of_step[members], kind="stable")]
    starts = np.searchsorted(of_step[members], partial)
    ends = np.append(starts[1:], len(members))
    for group, start, end in zip(partial.tolist(), starts.tolist(), ends.tolist(), strict=True):
        chosen = members[start:end]
        home = side.home[chosen]
        fill[chosen] = ration(
            capacity[chosen], priority[home], home, side.index[chosen], int(amount[group])
        )
    return fill


def _curtailment(
    feeder: Feeder,
    merit: ClearingResult,
    rows: tuple[HomeAllocation, ...],
    positions: IntArray,
) -> tuple[Curtailment, ...]:
    cut = []
    for before, after, position in zip(merit.allocations, rows, positions.tolist(), strict=True):
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
