"""Which soft limits a solved plan gave way on, by how much, and why."""

from __future__ import annotations

from gridcoop_home.planner.inputs import SLOT, SLOT_HOURS
from gridcoop_home.planner.model import Solution
from gridcoop_home.planner.problem import Problem
from gridcoop_home.planner.results import Violation

MIN_WH = 1.0  # below a watt-hour it is solver noise, not a violation


def find_violations(problem: Problem, sol: Solution) -> tuple[Violation, ...]:
    found = [
        _grid(problem, sol),
        _reserve(problem, sol),
        _ev(problem, sol),
        _end_target(problem, sol),
    ]
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


def _end_target(problem: Problem, sol: Solution) -> Violation | None:
    end, battery = problem.end, problem.battery
    if end is None or battery is None or end.target_fraction is None:
        return None
    if sol.end_short * 1000 < MIN_WH:
        return None
    cap = battery.capacity_wh / 1000
    asked = end.target_fraction * 100
    when = end.at.strftime("%H:%M")
    if end.reachable_kwh + 1e-6 < (end.target_kwh or 0.0):
        reason = (
            f"the battery cannot reach {asked:.0f} % by {when}: "
            f"{end.reachable_kwh / cap * 100:.0f} % reachable at its charging power"
        )
    else:
        ends = (sol.soc[-1] / cap * 100) if sol.soc else 0.0
        reason = (
            f"the battery ends at {ends:.0f} % at {when}, below its {asked:.0f} % target: "
            "the grid connection limit or a more important limit left too little energy"
        )
    return Violation("battery_end_target", sol.end_short * 1000, reason)
