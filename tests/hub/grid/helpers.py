"""Feeders for tests: the shipped example and small hand-made ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from hub.grid import Bus, Feeder, Line, Transformer, load_feeder
from hub.market import HomeAllocation

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "feeders" / "lindenweg.json"


def example_feeder() -> Feeder:
    return load_feeder(EXAMPLE)


def chain_feeder(
    buses: int,
    *,
    r_ohm: float = 0.01,
    x_ohm: float = 0.005,
    limit_kva: float = 200.0,
    voltage_pu: float = 1.0,
    transformer_kva: float = 400.0,
    homes: Mapping[str, int] | None = None,
) -> Feeder:
    """Bus 0 (transformer) - 1 - 2 - ... in a line, identical lines named L1, L2..."""
    return Feeder(
        name="chain",
        nominal_kv=0.4,
        transformer=Transformer("T", 0, transformer_kva, voltage_pu),
        buses=tuple(Bus(i) for i in range(buses)),
        lines=tuple(Line(f"L{i}", i - 1, i, r_ohm, x_ohm, limit_kva) for i in range(1, buses)),
        homes=homes or {},
    )


def cleared_load_kw(
    feeder: Feeder, allocations: Iterable[HomeAllocation], interval_seconds: int
) -> np.ndarray:
    """Net load per tree position (kW, consumption positive) of a clearing's allocations."""
    load = np.zeros(feeder.tree.size)
    for allocation in allocations:
        net = (
            allocation.bought_local_wh
            + allocation.bought_grid_wh
            - allocation.sold_local_wh
            - allocation.sold_grid_wh
        )
        load[feeder.position_of(feeder.homes[allocation.home_id])] += net * 3.6 / interval_seconds
    return load
