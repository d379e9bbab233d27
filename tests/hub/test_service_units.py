"""The systemd units of docs/hub/service.md (examples/systemd/) are valid and their commands run.

Each unit is checked by `systemd-analyze verify` with its program path pointed at this venv, and
its ExecStart line is run as written, with only the machine's paths mapped into a temporary
folder: the hub answers /health and stops cleanly on the unit's KillSignal within its
TimeoutStopSec; the witness, given an enrolled home's key file, creates its BLS key (mode 0600)
and its memory, registers with the hub and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import configparser
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

import aiohttp
import pytest
from gridcoop_home.client.hub import HubClient, Meter
from gridcoop_home.protocol.keys import SigningKey

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "examples" / "systemd"
VENV_BIN = Path(sys.prefix) / "bin"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(UNITS / name)
    return parser


def mapped(text: str, paths: dict[str, str]) -> str:
    for old, new in paths.items():
        text = text.replace(old, new)
    return text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.3)


@pytest.mark.parametrize("name", ["gridcoop-hub.service", "gridcoop-witness.service"])
def test_the_unit_passes_systemd_analyze_verify(name: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    copy = tmp_path / name
    copy.write_text(mapped((UNITS / name).read_text(), {"/opt/gridcoop/bin/": f"{VENV_BIN}/"}))
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    service = unit(name)["Service"]
    assert service["User"] == "gridcoop" and service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"


@pytest.fixture
def hub_from_unit(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    """The hub unit's ExecStart, run as written, with /etc/gridcoop and /var/lib/gridcoop mapped
    into tmp_path and the port made free."""
    port = free_port()
    etc, state = tmp_path / "etc", tmp_path / "state"
    etc.mkdir()
    state.mkdir()
    # Short intervals: the ledger seals a block every interval, and a witness can register for a
    # home only once the home's enrolment is in a block.
    (etc / "hub.toml").write_text(
        'currency = "EUR"\ninterval_seconds = 10\ngate_closure_seconds = 2\n'
        "allow_short_intervals = true\n"
    )
    service = unit("gridcoop-hub.service")["Service"]
    command = mapped(
        service["ExecStart"],
        {
            "/opt/gridcoop/bin/": f"{VENV_BIN}/",
            "/etc/gridcoop/": f"{etc}/",
            "/var/lib/gridcoop/": f"{state}/",
            "--port 8787": f"--port {port}",
        },
    )
    cwd = mapped(service["WorkingDirectory"], {"/var/lib/gridcoop": str(state)})
    process = subprocess.Popen(shlex.split(command), cwd=cwd, stderr=subprocess.PIPE)
    try:
        wait(lambda: process.poll() is None and health(port), 60, "the hub's /health")
        yield port, process, state
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_hub_unit_s_command_serves_and_stops_on_its_kill_signal(
    hub_from_unit: tuple[int, subprocess.Popen[bytes], Path],
) -> None:
    port, process, state = hub_from_unit
    assert (state / "gridcoop-hub.db").exists()  # the database lives in the state directory
    service = unit("gridcoop-hub.service")["Service"]
    process.send_signal(getattr(signal, service["KillSignal"]))
    assert process.wait(timeout=int(service["TimeoutStopSec"])) == 0
    assert not health(port)


async def enrol_home(url: str, join_code: str) -> SigningKey:
    home_key = SigningKey.generate()
    async with aiohttp.ClientSession() as session:
        await HubClient(session, url).enrol(
            join_code, home_key, [Meter("grid", "grid", SigningKey.generate())]
        )
    return home_key


def test_the_witness_unit_s_command_registers_with_the_hub(
    hub_from_unit: tuple[int, subprocess.Popen[bytes], Path], tmp_path: Path
) -> None:
    port, _, state = hub_from_unit
    url = f"http://127.0.0.1:{port}"
    db_url = f"sqlite:///{state / 'gridcoop-hub.db'}"
    invite = subprocess.run(
        [f"{VENV_BIN}/gridcoop-hub", "invite", "Witness home", "--db", db_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    join_code = re.search(r"Join code for .*: (\S+)", invite.stdout).group(1)  # type: ignore[union-attr]
    witness_dir = tmp_path / "witness"
    witness_dir.mkdir(mode=0o700)
    # The home key file: the key's text on one line, as docs/hub/service.md says.
    (witness_dir / "home.key").write_text(asyncio.run(enrol_home(url, join_code)).to_text() + "\n")
    os.chmod(witness_dir / "home.key", 0o600)
    service = unit("gridcoop-witness.service")["Service"]
    command = mapped(
        service["ExecStart"],
        {
            "/opt/gridcoop/bin/": f"{VENV_BIN}/",
            "/var/lib/gridcoop-witness/": f"{witness_dir}/",
            "https://hub.example.org": url,
        },
    )
    log = tmp_path / "witness.log"
    with log.open("w") as out:
        witness = subprocess.Popen(shlex.split(command), stdout=out, stderr=subprocess.STDOUT)
    try:
        key = witness_dir / "witness.key"
        wait(lambda: key.exists() and (witness_dir / "witness-data").is_dir(), 60, "its files")
        assert key.stat().st_mode & 0o777 == 0o600
        # Registering proves possession of the BLS key, and the hub checks that proof: with the
        # pure-Python BLS backend seconds each, many more on a loaded machine.
        try:
            wait(lambda: "witness registered" in log.read_text(), 240, "its registration")
        except AssertionError:
            print(log.read_text())
            raise
        assert witness.poll() is None, log.read_text()
        witness.send_signal(signal.SIGTERM)
        witness.wait(timeout=30)
    finally:
        if witness.poll() is None:
            witness.kill()
            witness.wait()
