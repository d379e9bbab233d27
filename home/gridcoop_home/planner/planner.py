"""The entry points: plan a home's horizon, or dispatch it on its own in island mode."""

from __future__ import annotations

import math
import time
from dataclasses import replace

from gridcoop_home.planner.bidding import build_bids
from gridcoop_home.planner.explain import ACTIVE_KW, explain
from gridcoop_home.planner.forecast import slot_starts
from gridcoop_home.planner.inputs import SLOT, SLOT_HOURS, PlanRequest
from gridcoop_home.planner.model import Solution, solve
from gridcoop_home.planner.problem import Problem, build_problem
from gridcoop_home.planner.reservation import Pricer, Reservation
from gridcoop_home.planner.results import (
    DiscomfortPrice,
    Dispatch,
    LoadOutcome,
    Plan,
    Schedule,
    SolveStats,
)
from gridcoop_home.planner.violations import find_violations
from gridcoop_home.protocol.bids import BidCurves


def plan(request: PlanRequest) -> Plan:
    """Plan the horizon. Raises PlannerInputError on impossible input; never on missing data."""
    started = time.perf_counter()
    problem = build_problem(request)
    sol = solve(problem)
    discomfort: tuple[DiscomfortPrice, ...] = ()
    bids: BidCurves | None = None
    extra = 0
    if request.market_outputs:
        pricer = Pricer(problem, sol)
        reservations = pricer.all()
        extra = pricer.solves
        discomfort = _discomfort(problem, reservations)
        if not request.island:
            bids = _bids(problem, sol, reservations)
    violations = find_violations(problem, sol)
    return Plan(
        schedule=_schedule(problem, sol),
        expected_cost=sol.cost,
        expected_carbon_g=_carbon(problem, sol),
        self_consumption=_self_consumption(sol),
        discomfort=discomfort,
        bids=bids,
        loads=_outcomes(problem, sol),
        explanations=explain(problem, sol, discomfort, violations),
        violations=violations,
        warnings=problem.warnings,
        dispatch=_dispatch(sol),
        stats=SolveStats(
            variables=sol.variables,
            constraints=sol.constraints,
            build_s=sol.build_s,
            solve_s=sol.solve_s,
            extra_solves=extra,
            total_s=time.perf_counter() - started,
        ),
    )


def dispatch_island(request: PlanRequest) -> tuple[Dispatch, Plan]:
    """No hub: plan against the grid tariff alone; the first slot's actions are the dispatch."""
    result = plan(replace(request, island=True))
    return result.dispatch, result


def _discomfort(problem: Problem, found: list[Reservation]) -> tuple[DiscomfortPrice, ...]:
    prices = {r.asset: r.price for r in found}
    out = []
    for load in problem.loads:
        price = prices.get(f"load:{load.id}")
        if load.running and not load.interruptible:
            out.append(DiscomfortPrice(load.id, None, "already running: cannot be deferred"))
        elif price is None:
            out.append(DiscomfortPrice(load.id, None, "cannot start in the next slot"))
        else:
            note = "run now below this price, defer above it"
            out.append(DiscomfortPrice(load.id, price, note))
    return tuple(out)


def _bids(problem: Problem, sol: Solution, found: list[Reservation]) -> BidCurves:
    f = problem.forecasts
    # With a local price forecast buy and sell prices coincide; without one, the clearing price
    # lies somewhere between the tariffs, and the midpoint is the least biased guess.
    expected = (f.buy_price[0] + f.sell_price[0]) / 2
    net_wh = round(sol.grid_import[0] * SLOT_HOURS * 1000) - round(
        sol.grid_export[0] * SLOT_HOURS * 1000
    )
    return build_bids(
        found,
        net_wh,
        expected,
        feed_in=f.feed_in[0],
        retail=f.retail[0],
        pv_wh=round(sol.pv_used[0] * SLOT_HOURS * 1000),
        grid_limit_wh=math.floor(problem.import_kw(0) * SLOT_HOURS * 1000),
        export_limit_wh=math.floor(problem.export_kw(0) * SLOT_HOURS * 1000),
    )


def _schedule(problem: Problem, sol: Solution) -> Schedule:
    f = problem.forecasts
    zeros = tuple(0.0 for _ in range(problem.slots))

    def watts(values: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(v * 1000 for v in values) if values else zeros

    return Schedule(
        starts=tuple(slot_starts(problem.start, problem.slots)),
        grid_import_w=watts(sol.grid_import),
        grid_export_w=watts(sol.grid_export),
        pv_used_w=watts(sol.pv_used),
        pv_curtailed_w=tuple(
            max(pv - used * 1000, 0.0) for pv, used in zip(f.pv_w, sol.pv_used, strict=True)
        ),
        base_load_w=f.base_load_w,
        battery_charge_w=watts(sol.charge),
        battery_discharge_w=watts(sol.discharge),
        battery_soc_wh=watts(sol.soc),
        ev_charge_w=watts(sol.ev),
        ev_soc_wh=watts(sol.ev_soc),
        loads_w={k: watts(v) for k, v in sol.loads.items()},
        buy_price=f.buy_price,
        sell_price=f.sell_price,
    )


def _carbon(problem: Problem, sol: Solution) -> float | None:
    carbon = problem.forecasts.carbon_g_per_kwh
    if carbon is None:
        return None
    # Imports carry the grid's intensity; own PV counts as zero.
    return sum(SLOT_HOURS * c * kw for c, kw in zip(carbon, sol.grid_import, strict=True))


def _self_consumption(sol: Solution) -> float:
    used = sum(sol.pv_used)
    if used <= 0:
        return 0.0
    return min(max((used - sum(sol.grid_export)) / used, 0.0), 1.0)


def _outcomes(problem: Problem, sol: Solution) -> tuple[LoadOutcome, ...]:
    out = []
    for load in problem.loads:
        skipped = sol.skipped.get(load.id, 0.0) > 0.5
        first = next((t for t, kw in enumerate(sol.loads[load.id]) if kw > ACTIVE_KW), None)
        start = None if skipped or first is None else problem.start + first * SLOT
        out.append(LoadOutcome(load.id, start, skipped))
    return tuple(out)


def _dispatch(sol: Solution) -> Dispatch:
    battery = (sol.charge[0] - sol.discharge[0]) * 1000 if sol.charge else 0.0
    return Dispatch(
        battery_w=battery,
        ev_w=sol.ev[0] * 1000 if sol.ev else 0.0,
        loads_on=tuple(k for k, power in sol.loads.items() if power[0] > ACTIVE_KW),
        grid_w=(sol.grid_import[0] - sol.grid_export[0]) * 1000,
    )
