"""Neighbourhood simulator: the real planner, market, ledger and settlement over a simulated month.

`python -m hub simulate --homes 200 --days 30 --seed 1` compares three worlds on the same weather
and loads: (A) fixed tariff without planning, (B) the planner alone against the tariff, (C) the
planner plus the local market, and writes a Markdown report with plots (docs/simulator.md).

The simulator needs the `sim` extra (pandas, pvlib, demandlib, matplotlib). This package imports
none of it until one of the names below is used: `gridcoop-hub` registers its `simulate` command
from hub.sim.cli, and a plain install without the extra must still start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.sim.config import Mix, SimConfig
    from hub.sim.engine import SimResult, simulate

__all__ = ["Mix", "SimConfig", "SimResult", "simulate"]

_HOMES = {
    "Mix": "hub.sim.config",
    "SimConfig": "hub.sim.config",
    "SimResult": "hub.sim.engine",
    "simulate": "hub.sim.engine",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
