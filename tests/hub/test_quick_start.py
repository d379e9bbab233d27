"""The README's quick start for hub operators, run as written in a clean virtual environment.

Marked `install`: building the venv takes about a minute (pip's cache and the configured package
index; nothing else from the network). The commands come from the README's code block, so the
test follows the README and the README cannot drift from what works: a plain install (no extras)
must give a `gridcoop-hub` that serves, invites, prints an admin token and verifies, and the
optional parts must say which extra they need.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pvlib", "demandlib", "matplotlib", "scipy", "pandapower", "asyncpg", "yaml")

pytestmark = pytest.mark.install


def readme_commands() -> list[str]:
    """The shell lines of the README's hub-operator block, comments removed."""
    text = (REPO / "README.md").read_text()
    section = text.split("## For hub operators", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "the README's hub-operator section has no bash block"
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_importing_the_cli_loads_nothing_optional() -> None:
    """Cheap and in every run: `gridcoop-hub --help` must not need an extra."""
    code = f"import sys, hub.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the hub installed by the README's pip line, from a copy of the checkout
    (pip builds in the source folder; the checkout itself stays clean)."""
    root = tmp_path_factory.mktemp("quick-start")
    checkout = root / "gridcoop"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.db*", "*.key")
    for part in ("hub", "home"):
        shutil.copytree(REPO / part, checkout / part, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, checkout / name)
    env_dir = root / ".venv"
    [pip_line] = [line for line in readme_commands() if line.startswith("pip install")]
    done = subprocess.run(
        [*venv_pip(env_dir), "install", "-q", *shlex.split(pip_line)[2:]],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    yield env_dir


def venv_pip(env_dir: Path) -> list[str]:
    """Make the venv; the pip that installs into it: its own, or (where the interpreter has no
    ensurepip, as Debian's packaged Pythons) this one's with --python pointing at it."""
    made = subprocess.run([sys.executable, "-m", "venv", str(env_dir)], capture_output=True)
    if made.returncode == 0:
        return [str(env_dir / "bin/python"), "-m", "pip"]
    shutil.rmtree(env_dir)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    return [sys.executable, "-m", "pip", "--python", str(env_dir / "bin/python")]


def run(venv: Path, line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(line)
    return subprocess.run(
        [str(venv / "bin" / argv[0]), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"},
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(url: str, server: subprocess.Popen[str], seconds: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "serve stopped"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                return dict(json.loads(answer.read()))
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no /health at {url} within {seconds} s")


def test_a_plain_install_has_no_optional_parts_and_a_working_help(venv: Path) -> None:
    python = str(venv / "bin/python")
    code = (
        "import importlib.util, sys, hub.cli\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules or importlib.util.find_spec(m)])"
    )
    assert subprocess.check_output([python, "-c", code], text=True).strip() == "[]"
    done = run(venv, "gridcoop-hub --help", venv)
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout and "simulate" in done.stdout


def test_the_readme_commands_serve_invite_and_verify(venv: Path, tmp_path: Path) -> None:
    """Each `gridcoop-hub` line of the README, in order, in the folder the hub runs in; `serve`
    on a free port instead of 8787 (which may be taken on a test machine)."""
    commands = [line for line in readme_commands() if line.startswith("gridcoop-hub")]
    assert commands[0] == "gridcoop-hub serve"
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(venv / "bin/gridcoop-hub"), "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", server)["status"] == "ok"
        for line in commands[1:]:
            done = run(venv, line, tmp_path)
            assert done.returncode == 0, f"{line}: {done.stdout}{done.stderr}"
            assert "Traceback" not in done.stderr
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        log.close()
    assert server.returncode == 0, (tmp_path / "serve.log").read_text()
    verified = run(venv, "gridcoop-hub verify", tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert re.search(r"^\d+ blocks, \d+ entries in", verified.stdout, re.M), verified.stdout
    assert {"gridcoop-hub.db", "gridcoop-ledger.key"} <= {p.name for p in tmp_path.iterdir()}


def test_an_optional_part_names_its_extra(venv: Path, tmp_path: Path) -> None:
    done = run(venv, "gridcoop-hub simulate --days 1", tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip() == (
        "gridcoop-hub: gridcoop-hub simulate needs the 'sim' extra (pandas is not installed):"
        " pip install 'gridcoop-hub[sim]' (from a checkout: pip install './home' '.[sim]')"
    )


def test_read_only_commands_in_another_folder_create_nothing(venv: Path, tmp_path: Path) -> None:
    done = run(venv, "gridcoop-hub verify", tmp_path)

    assert done.returncode == 2
    assert f"no database at {tmp_path / 'gridcoop-hub.db'}" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_operations_commands_work_in_a_plain_install(venv: Path, tmp_path: Path) -> None:
    """docs/hub/operations.md's commands as an operator runs them beside `serve`: the month's
    statements, a backup while the hub runs, and (the hub stopped) a restore that verifies."""
    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin/gridcoop-hub"), "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    month = time.strftime("%Y-%m", time.gmtime())
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server)
        assert run(venv, 'gridcoop-hub invite "House 12"', tmp_path).returncode == 0
        for line in (f"gridcoop-hub statements {month}", f"gridcoop-hub statements {month} --csv"):
            done = run(venv, line, tmp_path)
            assert done.returncode == 0, f"{line}: {done.stdout}{done.stderr}"
        assert "balanced: yes" in run(venv, f"gridcoop-hub statements {month}", tmp_path).stdout
        backup = run(venv, "gridcoop-hub backup hub-copy.db", tmp_path)
        assert backup.returncode == 0, backup.stdout + backup.stderr
        refused = run(venv, "gridcoop-hub restore hub-copy.db --force", tmp_path)
        assert refused.returncode == 2 and "open in another process" in refused.stderr
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    restored = run(venv, "gridcoop-hub restore hub-copy.db --db sqlite:///restored.db", tmp_path)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "OK: " in restored.stdout and "Traceback" not in restored.stderr


def test_the_dashboard_s_invite_works_at_the_default_log_level(venv: Path, tmp_path: Path) -> None:
    """The dashboard's *Invite* (POST /api/v1/admin/invites) on a plain `serve` at its default
    log level, with the admin token `gridcoop-hub admin-token` made: a 201 with a join code that
    the hub knows (it once answered 500 at the default level and stored a code nobody saw)."""
    made = run(venv, "gridcoop-hub admin-token", tmp_path)
    token = re.search(r"gcadm_\S+", made.stdout)
    digest = re.search(r"GRIDCOOP_ADMIN_TOKEN_SHA256=([0-9a-f]{64})", made.stdout)
    assert token and digest, made.stdout
    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin/gridcoop-hub"), "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "GRIDCOOP_ADMIN_TOKEN_SHA256": digest.group(1)},
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/admin/invites",
            data=json.dumps({"name": "House 14"}).encode(),
            headers={
                "Authorization": f"Bearer {token.group()}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201
            body = json.loads(answer.read())
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert body["name"] == "House 14" and body["join_code"], body
