"""Home planner: a 24-48 h MILP over PV, battery, EV and deferrable loads (Home Assistant free).

`plan(request)` returns the schedule, cost, carbon, discomfort prices, the next interval's bid
curves and a sentence per decision; `dispatch_island` plans without a hub; `replan` rolls on.
"""

from hub.planner.errors import PlannerInputError
from hub.planner.inputs import (
    EV,
    Battery,
    DeferrableLoad,
    History,
    PlanRequest,
    Profile,
    Site,
    Strategy,
    Tariffs,
)
from hub.planner.planner import dispatch_island, plan
from hub.planner.results import (
    DiscomfortPrice,
    Dispatch,
    LoadOutcome,
    Plan,
    Schedule,
    SolveStats,
    Violation,
)
from hub.planner.rolling import Actuals, advance, replan

__all__ = [
    "EV",
    "Actuals",
    "Battery",
    "DeferrableLoad",
    "DiscomfortPrice",
    "Dispatch",
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
