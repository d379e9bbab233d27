"""The planner prints nothing: not even the HiGHS banner of the first solve in a process.

The banner comes from C++ straight to file descriptor 1 when a process builds its first HiGHS
object, so it is only visible in a fresh process and only to a capture of the descriptor
itself (capfd), not of Python's sys.stdout alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

FIRST_PLAN = """
from tests.home.planner.factory import battery, load, request
from gridcoop_home.planner import plan
plan(request([10, 20, 30, 5], battery=battery(), loads=(load(),)))
"""

BARE_HIGHS = "import highspy; highspy.Highs()"


def _run_fresh(code: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "home")])}
    # No capture here: the child writes to this process's descriptors 1 and 2, which capfd holds.
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)


def test_the_first_plan_in_a_process_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    _run_fresh(FIRST_PLAN)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_the_capture_would_see_the_banner(capfd: pytest.CaptureFixture[str]) -> None:
    """The check above can fail: a bare first HiGHS object does print, and capfd sees it."""
    _run_fresh(BARE_HIGHS)
    out, _ = capfd.readouterr()
    assert "HiGHS" in out
