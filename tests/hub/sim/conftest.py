"""One small simulation (20 homes, 2 days) shared by the tests, plus a second run with the same
seed for the determinism test. Each takes about 10-15 s (worker processes, 192 intervals)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.sim import SimConfig, SimResult, simulate

SMALL = {"homes": 20, "days": 2, "seed": 7}


def run_small(folder: Path) -> SimResult:
    return asyncio.run(simulate(SimConfig(**SMALL, data_dir=folder)))  # type: ignore[arg-type]


@pytest.fixture(scope="package")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SimResult:
    return run_small(tmp_path_factory.mktemp("sim"))


@pytest.fixture(scope="package")
def small_rerun(tmp_path_factory: pytest.TempPathFactory) -> SimResult:
    return run_small(tmp_path_factory.mktemp("sim-again"))
