"""`make demo` runs on any Python 3.12+ the machine has: scripts/bootstrap picks the newest one
and, when there is none, says what to install (docs/hub/quick_start.md#python)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def fake_python(folder: Path, name: str, version: str) -> Path:
    """An interpreter that answers bootstrap's two questions as Python `version` would."""
    major, minor = (int(part) for part in version.split(".")[:2])
    too_old = 1 if (major, minor) < (3, 12) else 0
    path = folder / name
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo "Python {version}"; exit 0; fi\n'
        f"exit {too_old}\n"
    )
    path.chmod(0o755)
    return path


def bootstrap(
    tmp_path: Path, pythons: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """scripts/bootstrap in a copy of the repository whose PATH has only these interpreters."""
    scripts = tmp_path / "repo" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap", scripts / "bootstrap")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("dirname", "cat"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    for name, version in pythons.items():
        fake_python(tools, name, version)
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(scripts / "bootstrap"), *args],
        env={"PATH": str(tools), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("pythons", "chosen"),
    [
        ({"python3": "3.12.3"}, "python3"),  # Ubuntu 24.04's python3
        ({"python3.13": "3.13.5", "python3": "3.11.2"}, "python3.13"),
        ({"python3.12": "3.12.1", "python3.14": "3.14.0"}, "python3.14"),
    ],
)
def test_the_newest_supported_python_on_the_path_is_chosen(
    tmp_path: Path, pythons: dict[str, str], chosen: str
) -> None:
    done = bootstrap(tmp_path, pythons, "python")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "bin" / chosen)


def test_without_python_312_it_says_what_to_install(tmp_path: Path) -> None:
    done = bootstrap(tmp_path, {"python3": "3.11.2", "python3.11": "3.11.2"}, "demo")

    assert done.returncode == 1
    assert done.stderr.startswith("bootstrap: no Python 3.12 or newer found")
    assert "python3: Python 3.11.2" in done.stderr
    assert "uv python install 3.13" in done.stderr
    assert not (tmp_path / "repo" / ".venv").exists()
