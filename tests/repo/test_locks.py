"""Reproducible environments: every virtual environment the tests and the demo use is installed
from a lock (locks/<venv>.txt, written by scripts/lock), so a new machine gets the same solver
and library versions the suite passed with, and a change of version is a reviewed diff.

- scripts/bootstrap installs every venv with `pip -c locks/<venv>.txt`;
- each lock holds exact `name==version` pins only (pip constraints take no paths or URLs);
- the venv running these tests holds exactly what its lock says, for every package of the lock
  that is installed (a venv bootstrapped before a lock changed fails here until rebuilt).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCKS = REPO / "locks"
VENVS = (".venv", ".venv-ha", ".venv-hass", ".venv312")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_of(venv: str) -> Path:
    return LOCKS / f"{venv.removeprefix('.')}.txt"


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line.strip())
        assert match, f"{lock.name}: not an exact pin: {line!r}"
        found[normalized(match.group(1))] = match.group(2)
    return found


@pytest.mark.parametrize("venv", VENVS)
def test_every_venv_has_a_lock_of_exact_pins(venv: str) -> None:
    lock = lock_of(venv)
    assert lock.is_file(), f"{lock} is missing: run scripts/lock"
    locked = pins(lock)
    assert len(locked) >= 10, lock
    # Our own distributions come from the working tree, never from a lock.
    assert not {"gridcoop-home", "gridcoop-hub"} & set(locked)


def test_bootstrap_installs_every_venv_from_its_lock() -> None:
    bootstrap = (REPO / "scripts" / "bootstrap").read_text()
    assert "lock=locks/${1#.}.txt" in bootstrap
    assert '"${pinned[@]}"' in bootstrap
    installed = set(re.findall(r"^\s*install_into (\.venv[\w-]*) ", bootstrap, re.MULTILINE))
    assert installed == set(VENVS)


def test_the_running_venv_holds_exactly_its_lock() -> None:
    venv = Path(sys.prefix).name
    if venv not in VENVS:
        pytest.skip(f"not one of the project's venvs: {sys.prefix}")
    locked = pins(lock_of(venv))
    installed = {
        normalized(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
    }
    differ = {
        name: (version, installed[name])
        for name, version in locked.items()
        if name in installed and installed[name] != version
    }
    assert not differ, f"{venv} differs from its lock (lock, installed): {differ}"
    assert sum(name in installed for name in locked) >= 0.9 * len(locked)
