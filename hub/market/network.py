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
   its price. The system price is placed by k_percent inside the competitive-equilibrium interval
   of the levels moved by their bus's congestion, by the uniform market's rule (bounded by the
   traded steps and those left short). Every price at a bus (local, grid import, grid export) is
   its base price plus the bus's congestion, and each bus publishes the limits that moved it.
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
from collections.abc import Sequence
from operator import attrgetter

import numpy as np

from hub.grid.lindistflow import PowerFlow, sweep, violations
from hub.grid.model import Feeder
from hub.grid.opf import NetworkInfeasible, SolverFailed, solve_dispatch
from hub.market.kernels import Flows, IntArray, Steps, allocations, grid_flows
from hub.market.network_dispatch import bus_load_kw, constrained_clearing
from hub.market.network_market import DispatchMarket
from hub.market.network_types import (
    BACKSTOPS,
    BindingLimit,
    Curtailment,
    NetworkClearing,
    NetworkOptions,
    NodalPrice,
)
from hub.market.types import ClearingResult, MarketRules, Order
from hub.market.uniform_price import clear_uniform_price

__all__ = [
    "BACKSTOPS",
    "BindingLimit",
    "Curtailment",
    "NetworkClearing",
    "NetworkOptions",
    "NodalPrice",
    "clear_network",
]

_LOGGER = logging.getLogger(__name__)

_HOME_ID = attrgetter("home_id")


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
    merit_flow = sweep(feeder, bus_load_kw(merit.allocations, positions, feeder, kw_per_wh))
    within = not violations(
        feeder,
        merit_flow,
        margin_pu=options.voltage_margin_pu,
        loading_limit=options.loading_limit,
    )
    if within and not options.always_lp:
        return _unconstrained(merit, rules, feeder, merit_flow, "merit_order", None)

    market = DispatchMarket.build(homes, positions, rules, options, kw_per_wh)
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
    return constrained_clearing(homes, rules, feeder, merit, positions, market, dispatch)


# --- the fast path and the backstop ---------------------------------------------------------------


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
        flow = sweep(feeder, bus_load_kw(result.allocations, positions, feeder, kw_per_wh))
    return _unconstrained(result, rules, feeder, flow, "backstop", reason)


def _grid_only(homes: list[Order], rules: MarketRules) -> ClearingResult:
    """No local trade: steps priced at or beyond the grid's prices trade with the grid."""
    buy, sell = Steps.of(homes, attrgetter("buy")), Steps.of(homes, attrgetter("sell"))
    no_buy, no_sell = np.zeros_like(buy.energy), np.zeros_like(sell.energy)
    buy_grid, sell_grid = grid_flows(
        buy, no_buy, sell, no_sell, retail=rules.retail_price, feed_in=rules.feed_in_price
    )
    rows = allocations(
        homes,
        rules.fee_per_kwh,
        (0, rules.retail_price, rules.feed_in_price),
        Flows(buy, no_buy, buy_grid),
        Flows(sell, no_sell, sell_grid),
    )
    return ClearingResult(
        None, None, None, 0, 0, 0, int(buy_grid.sum()), int(sell_grid.sum()), rows
    )


def _infeasibility_reason(feeder: Feeder, market: DispatchMarket, options: NetworkOptions) -> str:
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
