"""What following a first-slot decision costs the home, by the planner's own measure.

Used to check a dispatch against the plan (individual rationality: following the market's
dispatch at the cleared price is never worse than following the plan at that price) and to tell
the owner what a decision is worth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from gridcoop_home.planner.inputs import SLOT_HOURS, PlanRequest
from gridcoop_home.planner.model import Slot0Fix, solve
from gridcoop_home.planner.problem import build_problem
from gridcoop_home.protocol.dispatch import BATTERY, EV, is_load


def first_slot_cost(request: PlanRequest, energies_wh: Mapping[str, float], price: float) -> float:
    """The planner's objective (money in minor units plus its wear and comfort terms) when the
    first slot runs the devices at these energies (Wh; battery and EV signed, a load > 0 runs)
    with the slot's energy bought and sold at `price`, and the rest of the horizon is planned
    optimally from there. Devices not named are left to the planner."""
    problem = build_problem(request)
    forecasts = problem.forecasts
    problem = replace(
        problem,
        forecasts=replace(
            forecasts,
            buy_price=(price, *forecasts.buy_price[1:]),
            sell_price=(price, *forecasts.sell_price[1:]),
        ),
    )
    fixes = []
    for device, wh in energies_wh.items():
        kw = wh / 1000 / SLOT_HOURS
        if device in (BATTERY, EV):
            fixes.append(Slot0Fix(device, run=True, kw=kw))
        elif is_load(device):
            fixes.append(Slot0Fix(device, run=wh > 0))
    return solve(problem, fixes).objective
