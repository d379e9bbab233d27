"""What following a first-slot decision costs the home, by the planner's own measure.

Used to check a dispatch against the plan (individual rationality: following the market's
dispatch at the cleared price is never worse than following the plan at that price) and to tell
the owner what a decision is worth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from gridcoop_home.planner.inputs import SLOT_HOURS, PlanRequest
from gridcoop_home.planner.model import Slot0Fix, solve
from gridcoop_home.planner.problem import build_problem
from gridcoop_home.protocol.dispatch import BATTERY, EV, is_load


@dataclass(frozen=True, slots=True)
class Allocated:
    """What the market gave the home for the first slot: `net_wh` (bought - sold, Wh) at the
    cleared price; anything beyond it is settled with the grid at retail or feed-in."""

    net_wh: float
    retail: float
    feed_in: float


def first_slot_cost(
    request: PlanRequest,
    energies_wh: Mapping[str, float],
    price: float,
    allocated: Allocated | None = None,
) -> float:
    """The planner's objective (money in minor units plus its wear and comfort terms) when the
    first slot runs the devices at these energies (Wh; battery and EV signed, a load > 0 runs)
    with the slot's energy bought and sold at `price`, and the rest of the horizon is planned
    optimally from there. Devices not named are left to the planner.

    With `allocated`, only that net energy trades at `price`: a first slot that imports more
    pays retail for the difference, one that exports more earns feed-in for it (the settlement's
    imbalance rule)."""
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
    solution = solve(problem, fixes)
    if allocated is None:
        return solution.objective
    net_kwh = (solution.grid_import[0] - solution.grid_export[0]) * SLOT_HOURS
    excess = net_kwh - allocated.net_wh / 1000  # > 0: bought beyond the allocation
    if excess > 0:
        return solution.objective + (allocated.retail - price) * excess
    return solution.objective + (price - allocated.feed_in) * -excess
