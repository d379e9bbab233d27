"""One small simulation (20 homes, 2 days) shared by the tests, plus a second run with the same
seed for the determinism test. Each takes about 10-15 s (worker processes, 192 intervals)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from hub.sim import Mix, SimConfig, SimResult, simulate

# A quarter of the homes with an EV, every owner retiring green certificates: two days of a
# small street still see EV sessions end and certificates retired, whatever the draws.
SMALL = SimConfig(homes=20, days=2, seed=7, mix=Mix(ev_share=0.25, green_retirer_share=1.0))


def run_small(folder: Path) -> SimResult:
    return asyncio.run(simulate(replace(SMALL, data_dir=folder)))


@pytest.fixture(scope="package")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SimResult:
    return run_small(tmp_path_factory.mktemp("sim"))


@pytest.fixture(scope="package")
def small_rerun(tmp_path_factory: pytest.TempPathFactory) -> SimResult:
    return run_small(tmp_path_factory.mktemp("sim-again"))
