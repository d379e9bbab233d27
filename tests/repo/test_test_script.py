"""scripts/test leaves nothing out quietly: a missing test venv, or a run that collects no tests,
fails the suite (tests/collect_guard.py); skipping the older Python must be asked for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENVS = (".venv", ".venv-ha", ".venv-hass", ".venv312")
# A stand-in for each venv's python: logs how it was called, exits with $STUB_STATUS for pytest.
STUB = """#!/bin/sh
echo "$0 $*" >> "$STUB_LOG"
case "$1" in -c|--version) exit 0;; esac
exit "${STUB_STATUS:-0}"
"""


def checkout(tmp_path: Path, venvs: tuple[str, ...] = VENVS) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "test", tmp_path / "scripts" / "test")
    for venv in venvs:
        python = tmp_path / venv / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text(STUB)
        python.chmod(0o755)
    return tmp_path


def run(root: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = root / "calls.log"
    log.touch()
    environment = {
        key: value for key, value in os.environ.items() if key != "GRIDCOOP_SKIP_OLDER_PYTHON"
    }
    result = subprocess.run(
        ["bash", str(root / "scripts" / "test")],
        env={**environment, "STUB_LOG": str(log), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    runs = [line for line in log.read_text().splitlines() if " -m pytest " in line]
    return result, runs


def test_all_four_runs_go_through_the_collect_guard(tmp_path: Path) -> None:
    result, runs = run(checkout(tmp_path))
    assert result.returncode == 0, result.stderr
    assert [line.split("/bin/python")[0].rsplit("/", 1)[-1] for line in runs] == [
        ".venv",
        ".venv-ha",
        ".venv-ha",
        ".venv312",
    ]
    assert all("-p tests.collect_guard" in line for line in runs)


@pytest.mark.parametrize("missing", [".venv-ha", ".venv-hass", ".venv312"])
def test_a_missing_venv_fails_before_any_run_naming_it(tmp_path: Path, missing: str) -> None:
    root = checkout(tmp_path, tuple(v for v in VENVS if v != missing))
    result, runs = run(root)
    assert result.returncode == 1
    assert f"FAILED: {missing} is missing" in result.stderr
    assert runs == []


def test_without_an_older_python_the_skip_must_be_asked_for_and_is_announced(
    tmp_path: Path,
) -> None:
    root = checkout(tmp_path, tuple(v for v in VENVS if v != ".venv312"))
    assert "GRIDCOOP_SKIP_OLDER_PYTHON=1" in run(root)[0].stderr
    result, runs = run(root, GRIDCOOP_SKIP_OLDER_PYTHON="1")
    assert result.returncode == 0
    assert "WARNING" in result.stderr and "3.12" in result.stderr
    assert len(runs) == 3


@pytest.mark.parametrize("status", ["1", "5"])
def test_a_failing_or_empty_run_stops_the_suite(tmp_path: Path, status: str) -> None:
    result, runs = run(checkout(tmp_path), STUB_STATUS=status)
    assert result.returncode != 0
    assert len(runs) == 1


# -- the collect guard itself, in a real pytest --------------------------------------------------


def pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    guarded = [sys.executable, "-m", "pytest", "-q", "-p", "tests.collect_guard"]
    return subprocess.run(
        [*guarded, "-p", "no:cacheprovider", "--rootdir", str(directory), str(directory), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_run_that_collects_nothing_fails_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("# every test here was lost\n")
    result = pytest_in(tmp_path)
    assert result.returncode == 1
    assert "collected no tests at all" in result.stdout


def test_a_run_whose_tests_were_all_deselected_by_k_passes(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text("def test_one():\n    assert True\n")
    assert pytest_in(tmp_path, "-k", "nothing_matches").returncode == 0
    assert pytest_in(tmp_path).returncode == 0
    (tmp_path / "test_one.py").write_text("def test_one():\n    assert False\n")
    assert pytest_in(tmp_path).returncode == 1
