"""Neighbourhood simulator: the real planner, market, ledger and settlement over a simulated month.

`python -m hub simulate --homes 200 --days 30 --seed 1` compares three worlds on the same weather
and loads: (A) fixed tariff without planning, (B) the planner alone against the tariff, (C) the
planner plus the local market, and writes a Markdown report with plots (docs/simulator.md).
"""

from hub.sim.config import Mix, SimConfig
from hub.sim.engine import SimResult, simulate

__all__ = ["Mix", "SimConfig", "SimResult", "simulate"]
