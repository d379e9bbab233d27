"""The distribution feeder: model, files, LinDistFlow power flow, dispatch LP and headroom.

Pure and deterministic; imports nothing from the server, store or market. pandapower is not
needed: its JSON export is read directly, and ac_power_flow imports it only when called.
"""

from hub.grid.ac_check import AcFlow, ac_power_flow
from hub.grid.errors import FeederError
from hub.grid.files import FORMAT, feeder_from_dict, feeder_to_dict, load_feeder
from hub.grid.headroom import TransferHeadroom
from hub.grid.lindistflow import PowerFlow, Violation, sweep, violations
from hub.grid.model import (
    DEFAULT_LOADING_LIMIT,
    DEFAULT_V_MAX_PU,
    DEFAULT_V_MIN_PU,
    DEFAULT_VOLTAGE_MARGIN_PU,
    Bus,
    Feeder,
    Line,
    Transformer,
    check_limit_margins,
    kva_from_amps,
)
from hub.grid.opf import (
    Binding,
    Blocks,
    Dispatch,
    LpStats,
    NetworkInfeasible,
    SolverFailed,
    solve_dispatch,
)

__all__ = [
    "DEFAULT_LOADING_LIMIT",
    "DEFAULT_VOLTAGE_MARGIN_PU",
    "DEFAULT_V_MAX_PU",
    "DEFAULT_V_MIN_PU",
    "FORMAT",
    "AcFlow",
    "Binding",
    "Blocks",
    "Bus",
    "Dispatch",
    "Feeder",
    "FeederError",
    "Line",
    "LpStats",
    "NetworkInfeasible",
    "PowerFlow",
    "SolverFailed",
    "TransferHeadroom",
    "Transformer",
    "Violation",
    "ac_power_flow",
    "check_limit_margins",
    "feeder_from_dict",
    "feeder_to_dict",
    "kva_from_amps",
    "load_feeder",
    "solve_dispatch",
    "sweep",
    "violations",
]
