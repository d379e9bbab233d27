"""Home planner: a 24-48 h MILP over PV, battery, EV and deferrable loads (Home Assistant free).

`plan(request)` returns the schedule, cost, carbon, discomfort prices, the next interval's bid
curves and a sentence per decision; `dispatch_island` plans without a hub; `replan` rolls on.
"""

from gridcoop_home.planner.errors import PlannerInputError
from gridcoop_home.planner.inputs import (
    EV,
    Battery,
    DeferrableLoad,
    EndOfHorizon,
    History,
    PlanRequest,
    Profile,
    Site,
    Strategy,
    Tariffs,
)
from gridcoop_home.planner.planner import dispatch_island, plan
from gridcoop_home.planner.results import (
    DiscomfortPrice,
    Dispatch,
    LoadOutcome,
    Plan,
    Schedule,
    SolveStats,
    Violation,
)
from gridcoop_home.planner.rolling import Actuals, advance, replan

__all__ = [
    "EV",
    "Actuals",
    "Battery",
    "DeferrableLoad",
    "DiscomfortPrice",
    "Dispatch",
    "EndOfHorizon",
    "History",
    "LoadOutcome",
    "Plan",
    "PlanRequest",
    "PlannerInputError",
    "Profile",
    "Schedule",
    "Site",
    "SolveStats",
    "Strategy",
    "Tariffs",
    "Violation",
    "advance",
    "dispatch_island",
    "plan",
    "replan",
]
