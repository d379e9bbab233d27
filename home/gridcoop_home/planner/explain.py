"""One plain sentence per decision, in the household's terms (prices in c/kWh, local times)."""

from __future__ import annotations

from datetime import datetime

from gridcoop_home.planner.inputs import SLOT
from gridcoop_home.planner.model import Solution
from gridcoop_home.planner.problem import Problem
from gridcoop_home.planner.results import DiscomfortPrice, Violation

ACTIVE_KW = 0.01


def explain(
    problem: Problem,
    sol: Solution,
    discomfort: tuple[DiscomfortPrice, ...],
    violations: tuple[Violation, ...],
) -> tuple[str, ...]:
    lines = []
    if problem.battery is not None:
        lines.append(_battery(problem, sol))
    if problem.ev is not None:
        lines.append(_ev(problem, sol))
    prices = {d.load_id: d.price for d in discomfort}
    lines += [_load(problem, sol, load.id, prices.get(load.id)) for load in problem.loads]
    lines += [f"could not keep {v.limit}: {v.reason}" for v in violations]
    return tuple(lines)


def _at(problem: Problem, slot: int) -> str:
    when: datetime = problem.start + slot * SLOT
    return when.strftime("%H:%M")


def _price(problem: Problem, slot: int, *, sell: bool = False) -> str:
    prices = problem.forecasts.sell_price if sell else problem.forecasts.buy_price
    return f"{prices[slot]:.0f} c/kWh"


def _first(values: tuple[float, ...], start: int = 0) -> int | None:
    return next((t for t in range(start, len(values)) if values[t] > ACTIVE_KW), None)


def _battery(problem: Problem, sol: Solution) -> str:
    if sol.charge[0] > ACTIVE_KW:
        later = _first(sol.discharge)
        if later is None:
            return f"charging the battery now at {_price(problem, 0)}: stored for later use"
        return (
            f"charging the battery now: {_price(problem, 0)} now vs "
            f"{_price(problem, later)} at {_at(problem, later)}"
        )
    if sol.discharge[0] > ACTIVE_KW:
        later = _first(sol.charge)
        refill = ""
        if later is not None:
            refill = f"; refilling at {_price(problem, later)} at {_at(problem, later)}"
        return f"discharging the battery now: {_price(problem, 0)} now{refill}"
    later = _first(sol.discharge)
    if later is not None:
        return (
            f"holding the battery for {_at(problem, later)} ({_price(problem, later)} vs "
            f"{_price(problem, 0)} now)"
        )
    return "battery idle: no price difference worth its losses and wear"


def _ev(problem: Problem, sol: Solution) -> str:
    ev = problem.ev
    assert ev is not None
    deadline = _at(problem, min(ev.deadline, problem.slots - 1))
    if sol.ev_short > 1e-6:
        return f"EV: {sol.ev_short:.1f} kWh short of its target at {deadline} (see violations)"
    if sol.ev[0] > ACTIVE_KW:
        return f"charging the EV now at {_price(problem, 0)} to reach its target by {deadline}"
    later = _first(sol.ev)
    if later is None:
        return "EV needs no charge before its departure"
    if later == ev.first > 0:
        return (
            f"EV charging starts at {_at(problem, later)}, its earliest start, ready by {deadline}"
        )
    return (
        f"EV charging waits until {_at(problem, later)} ({_price(problem, later)} vs "
        f"{_price(problem, 0)} now), still ready by {deadline}"
    )


def _load(problem: Problem, sol: Solution, load_id: str, price: float | None) -> str:
    load = next(spec for spec in problem.loads if spec.id == load_id)
    if sol.skipped.get(load_id, 0.0) > 0.5:
        return f"skipping {load_id}: running it would cost more than it is worth"
    power = sol.loads[load_id]
    start = _first(power)
    threshold = f" (discomfort price {price:.0f} c/kWh)" if price is not None else ""
    if start == 0:
        return f"running {load_id} now at {_price(problem, 0)}{threshold}"
    if start is None:
        return f"{load_id} is not scheduled in this horizon"
    if start == load.first:
        return f"running {load_id} at {_at(problem, start)}, as soon as its window opens"
    return (
        f"deferring {load_id} to {_at(problem, start)}: {_price(problem, start)} then vs "
        f"{_price(problem, 0)} now{threshold}"
    )
