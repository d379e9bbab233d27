"""Welfare-maximising dispatch of price blocks on a radial feeder: a LinDistFlow LP for HiGHS.

The market hands over blocks: power offered (injections) or wanted (withdrawals) at one bus for
one price. The upstream grid sells at the transformer for `import_cost` and buys for
`export_value` per kW. The LP chooses how much of each block to dispatch:

    minimise   sum(cost_b * p_b) + import_cost * imp - export_value * exp
    subject to balance at every bus:  P_i - sum(P_children) + sum(sign_b * p_b at i) = 0
               voltage drop per branch:  v_i - v_parent + r'_i P_i = 0   (v_src for the root)
               the transformer carries the grid's energy:  P_0 - imp + exp = 0
               bounds:  lower_b <= p_b <= upper_b,  |P_i| <= limit_i,  v_min^2 <= v_i <= v_max^2

Reactive power is not dispatched (homes trade at unity power factor), so the thermal limit is a
bound on P. The model is passed to HiGHS as numpy arrays in one call (highspy.HighsLp): building
it costs a few array operations however many blocks there are. The dual simplex starts from a
crash basis that is optimal without the network (every block on its side of the grid price), so
it only has to work off the limits the network adds: a dozen iterations instead of hundreds.

Prices come from the duals: `bus_price[i]` is the marginal cost of one more kW of load at bus i,
`energy_price` the part every bus shares, and each binding limit's share of every bus price is
reported (bus_price = energy_price + the shares), so the market can say why a price differs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from gridcoop_home.planner.solver import quiet_highs
from numpy.typing import NDArray

from hub.grid.lindistflow import PowerFlow, drop_coefficients, path_sums, sweep
from hub.grid.model import (
    DEFAULT_LOADING_LIMIT,
    DEFAULT_VOLTAGE_MARGIN_PU,
    Feeder,
    check_limit_margins,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# A dual below this (in cost units per kW or per p.u.^2) is numerical noise, not a binding limit.
DUAL_TOLERANCE = 1e-6


class NetworkInfeasible(Exception):
    """No dispatch satisfies the network limits together with the blocks' lower bounds."""


class SolverFailed(Exception):
    """HiGHS stopped without an optimal solution (numerical trouble, limits...)."""


@dataclass(frozen=True, slots=True, eq=False)
class Blocks:
    position: IntArray  # tree position of each block's bus
    sign: FloatArray  # +1 injects (a sale), -1 withdraws (a purchase)
    cost: FloatArray  # objective per kW dispatched, minimised (a purchase's is minus its value)
    lower_kw: FloatArray
    upper_kw: FloatArray
    import_cost: float  # the grid's price at the transformer, per kW
    export_value: float  # what the grid pays at the transformer, per kW (<= import_cost)


@dataclass(frozen=True, slots=True)
class Binding:
    """A network limit with a non-zero shadow price at the optimum.

    kind: 'thermal' (element is a line or the transformer), 'voltage_max' or 'voltage_min'
    (element is "bus <id>"). `position` is the tree position of the bus the limit belongs to
    (for thermal limits: the bus the branch feeds). `limit` is the limit the LP kept (the loading
    limit, or the voltage band tightened by the margin) and `value` the LinDistFlow value at the
    optimum (loading, or voltage in p.u.).
    """

    kind: str
    element: str
    position: int
    limit: float
    value: float
    shadow_price: float


@dataclass(frozen=True, slots=True)
class LpStats:
    columns: int
    rows: int
    nonzeros: int
    build_s: float
    solve_s: float


@dataclass(frozen=True, slots=True, eq=False)
class Dispatch:
    dispatch_kw: FloatArray
    import_kw: float
    export_kw: float
    bus_price: FloatArray  # marginal cost of load per tree position
    energy_price: float  # bus_price minus every binding limit's share
    binding: tuple[Binding, ...]
    contribution: FloatArray  # [k, i]: share of binding[k] in bus_price[i]
    flow: PowerFlow
    stats: LpStats


def solve_dispatch(
    feeder: Feeder,
    blocks: Blocks,
    *,
    voltage_margin_pu: float = DEFAULT_VOLTAGE_MARGIN_PU,
    loading_limit: float = DEFAULT_LOADING_LIMIT,
    presolve: bool = False,
    warm_start: bool = True,
) -> Dispatch:
    """Solve the dispatch LP. Raises NetworkInfeasible or SolverFailed.

    voltage_margin_pu tightens the voltage band; loading_limit scales every thermal limit (the
    safe defaults of hub.grid.model).
    """
    check_limit_margins(voltage_margin_pu, loading_limit)
    if blocks.export_value > blocks.import_cost:
        raise ValueError("export_value must not exceed import_cost (the grid would be a pump)")
    started = time.perf_counter()
    lp = _build(feeder, blocks, voltage_margin_pu, loading_limit)
    highs = quiet_highs()  # not even the first solve of a process prints HiGHS's banner
    highs.setOptionValue("presolve", "on" if presolve else "off")
    highs.passModel(lp)
    if warm_start:
        highs.setBasis(_crash_basis(feeder, blocks))  # a rejected basis only means a cold start
    built = time.perf_counter()
    highs.run()
    solved = time.perf_counter()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        raise NetworkInfeasible("no dispatch keeps the feeder within its limits")
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverFailed(f"HiGHS stopped: {highs.modelStatusToString(status)}")

    solution = highs.getSolution()
    n, m = feeder.tree.size, len(blocks.cost)
    values = np.asarray(solution.col_value)
    col_dual = np.asarray(solution.col_dual)
    row_dual = np.asarray(solution.row_dual)
    dispatch = np.clip(values[:m], blocks.lower_kw, blocks.upper_kw)
    load = np.bincount(blocks.position, -blocks.sign * dispatch, minlength=n).astype(np.float64)
    flow = sweep(feeder, load)
    first_p = m + 2
    binding, contribution = _binding(
        feeder,
        flow,
        col_dual[first_p : first_p + n],
        col_dual[first_p + n :],
        voltage_margin_pu,
        loading_limit,
    )
    stats = LpStats(
        columns=lp.num_col_,
        rows=lp.num_row_,
        nonzeros=len(lp.a_matrix_.value_),
        build_s=built - started,
        solve_s=solved - built,
    )
    return Dispatch(
        dispatch_kw=dispatch,
        import_kw=float(values[m]),
        export_kw=float(values[m + 1]),
        bus_price=row_dual[:n],
        energy_price=float(-row_dual[2 * n]),
        binding=binding,
        contribution=contribution,
        flow=flow,
        stats=stats,
    )


def _build(feeder: Feeder, blocks: Blocks, margin: float, loading_limit: float) -> highspy.HighsLp:
    """Columns: blocks, import, export, P per branch, v per bus. Rows: balance per bus, voltage
    per bus, the transformer link."""
    tree = feeder.tree
    n, m = tree.size, len(blocks.cost)
    per_kw, _per_kvar = drop_coefficients(feeder)
    imp, exp = m, m + 1
    p_cols = m + 2 + np.arange(n, dtype=np.int64)
    v_cols = m + 2 + n + np.arange(n, dtype=np.int64)
    children = np.arange(1, n, dtype=np.int64)
    parents = tree.parent[1:]
    link = 2 * n

    # Coordinates (column, row, value) of every non-zero.
    cols = np.concatenate(
        (
            np.arange(m, dtype=np.int64),
            [imp, exp, p_cols[0]],
            p_cols,
            p_cols[1:],
            p_cols,
            v_cols,
            v_cols[parents],
        )
    )
    rows = np.concatenate(
        (
            blocks.position,
            [link, link, link],
            np.arange(n),
            parents,
            n + np.arange(n),
            n + np.arange(n),
            n + children,
        )
    )
    vals = np.concatenate(
        (
            blocks.sign,
            [-1.0, 1.0, 1.0],
            np.ones(n),
            -np.ones(n - 1),
            per_kw,
            np.ones(n),
            -np.ones(n - 1),
        )
    )
    order = np.argsort(cols, kind="stable")
    starts = np.searchsorted(cols[order], np.arange(m + 3 + 2 * n))

    v_low = (feeder.v_min_pu + margin) ** 2
    v_high = (feeder.v_max_pu - margin) ** 2
    limit = feeder.branch_limit_kva * loading_limit
    fixed = np.zeros(2 * n + 1)
    fixed[n] = feeder.transformer.voltage_pu**2  # the root's voltage row: v_0 + r'_0 P_0 = v_src
    inf = highspy.kHighsInf

    lp = highspy.HighsLp()
    lp.num_col_ = m + 2 + 2 * n
    lp.num_row_ = 2 * n + 1
    lp.col_cost_ = np.concatenate(
        (blocks.cost, [blocks.import_cost, -blocks.export_value], np.zeros(2 * n))
    )
    lp.col_lower_ = np.concatenate((blocks.lower_kw, [0.0, 0.0], -limit, np.full(n, v_low)))
    lp.col_upper_ = np.concatenate((blocks.upper_kw, [inf, inf], limit, np.full(n, v_high)))
    lp.row_lower_ = fixed
    lp.row_upper_ = fixed
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = rows[order].astype(np.int32)
    lp.a_matrix_.value_ = vals[order].astype(np.float64)
    return lp


def _crash_basis(feeder: Feeder, blocks: Blocks) -> highspy.HighsBasis:
    """The optimal basis without network limits, taking the grid's import (or export) as marginal.

    Branch flows and voltages are basic, so is the grid flow; every block sits at the bound its
    reduced cost at that grid price asks for. This basis is dual feasible and non-singular (the
    tree makes it triangular); the dual simplex then only repairs the broken limits.
    """
    status = highspy.HighsBasisStatus
    n = feeder.tree.size
    # Net demand if every block traded whenever it beats the midpoint of the grid's prices.
    middle = (blocks.import_cost + blocks.export_value) / 2
    wants = (blocks.cost - blocks.sign * middle) < 0
    importing = float(np.sum(-blocks.sign * blocks.upper_kw * wants)) > 0
    price = blocks.import_cost if importing else blocks.export_value
    reduced = blocks.cost - blocks.sign * price  # c - a^T y with every bus priced at `price`
    at_upper = reduced < 0
    # Blocks that must be dispatched (lower > 0) with a positive reduced cost stay at the lower.
    basis = highspy.HighsBasis()
    lower, upper, basic = status.kLower, status.kUpper, status.kBasic
    columns = [upper if flag else lower for flag in at_upper.tolist()]
    columns += [basic, lower] if importing else [lower, basic]
    columns += [basic] * (2 * n)
    basis.col_status = columns
    basis.row_status = [lower] * (2 * n + 1)
    basis.valid = True
    return basis


def _binding(
    feeder: Feeder,
    flow: PowerFlow,
    p_dual: FloatArray,
    v_dual: FloatArray,
    margin_pu: float,
    loading_limit: float,
) -> tuple[tuple[Binding, ...], FloatArray]:
    """Limits with a shadow price, and each one's share of every bus price.

    One more kW of load at bus i raises the flow of every branch on its path, and lowers the voltage
    of bus j by the drop coefficients of the branches the two paths share. A limit's share of bus
    i's price is its shadow price times that sensitivity, signed by which side of the limit binds.
    """
    tree = feeder.tree
    n = tree.size
    per_kw, _ = drop_coefficients(feeder)
    found: list[Binding] = []
    rows: list[FloatArray] = []
    positions = np.arange(n)
    for position in np.flatnonzero(np.abs(p_dual) > DUAL_TOLERANCE).tolist():
        dual = float(p_dual[position])
        in_subtree = (positions >= position) & (positions < tree.end[position])
        # Binding at +limit (forward flow): more load downstream costs more. At -limit (reverse
        # flow) more load downstream relieves it. The reduced cost is negative at an upper bound.
        rows.append(np.where(in_subtree, -dual, 0.0))
        found.append(
            Binding(
                "thermal",
                feeder.branch_name(position),
                position,
                loading_limit,
                float(flow.loading[position]),
                abs(dual),
            )
        )
    for position in np.flatnonzero(np.abs(v_dual) > DUAL_TOLERANCE).tolist():
        dual = float(v_dual[position])
        shared = np.zeros(n)
        shared[tree.path(position)] = per_kw[tree.path(position)]
        sensitivity = path_sums(feeder, shared)  # drop at `position` per kW of load at each bus
        rows.append(dual * sensitivity)
        upper = dual < 0  # negative reduced cost: the voltage sits at its upper bound
        found.append(
            Binding(
                "voltage_max" if upper else "voltage_min",
                f"bus {feeder.bus_ids[position]}",
                position,
                feeder.v_max_pu - margin_pu if upper else feeder.v_min_pu + margin_pu,
                float(flow.voltage_pu[position]),
                abs(dual),
            )
        )
    contribution = np.array(rows) if rows else np.zeros((0, n))
    return tuple(found), contribution
