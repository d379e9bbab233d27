"""Which soft limits a solved plan gave way on, by how much, and why."""

from __future__ import annotations

from gridcoop_home.planner.inputs import SLOT, SLOT_HOURS
from gridcoop_home.planner.model import Solution
from gridcoop_home.planner.problem import Problem
from gridcoop_home.planner.results import Violation

MIN_WH = 1.0  # below a watt-hour it is solver noise, not a violation


def find_violations(problem: Problem, sol: Solution) -> tuple[Violation, ...]:
    found = [_grid(problem, sol), _reserve(problem, sol), _ev(problem, sol)]
    return tuple(v for v in found if v is not None)


def _grid(problem: Problem, sol: Solution) -> Violation | None:
    over = [t for t, kw in enumerate(sol.grid_excess) if kw * SLOT_HOURS * 1000 >= MIN_WH]
    if not over:
        return None
    when = (problem.start + over[0] * SLOT).strftime("%H:%M")
    limit = problem.grid_limit_kw * 1000
    return Violation(
        "grid_limit",
        sum(sol.grid_excess) * SLOT_HOURS * 1000,
        f"base load and must-run devices exceed the {limit:.0f} W connection in {len(over)} "
        f"slots (first at {when}); nothing flexible was left to shift",
    )


def _reserve(problem: Problem, sol: Solution) -> Violation | None:
    battery = problem.battery
    deepest = max(sol.reserve_short, default=0.0) * 1000
    if battery is None or deepest < MIN_WH:
        return None
    if battery.soc_wh < battery.reserve_wh and sol.reserve_short[0] * 1000 >= MIN_WH:
        reason = (
            f"the battery starts at {battery.soc_wh:.0f} Wh, below its {battery.reserve_wh:.0f} "
            "Wh reserve; it refills as soon as it can"
        )
    else:
        reason = "the reserve was drawn on to keep within the grid connection limit"
    return Violation("battery_reserve", deepest, reason)


def _ev(problem: Problem, sol: Solution) -> Violation | None:
    ev = problem.ev
    if ev is None or sol.ev_short * 1000 < MIN_WH:
        return None
    if ev.reachable_kwh + 1e-6 < ev.required_kwh:
        reason = (
            f"the charger can bring the EV to at most {ev.reachable_kwh * 1000:.0f} Wh before "
            f"departure, {ev.required_kwh * 1000:.0f} Wh were asked"
        )
    else:
        reason = "the grid connection limit left too little headroom before departure"
    return Violation("ev_target", sol.ev_short * 1000, reason)
