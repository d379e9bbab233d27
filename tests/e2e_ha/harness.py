"""Processes and HTTP for the end-to-end tests with a real Home Assistant: a hub (`python -m hub
serve`, from the hub's venv), a neighbour home that sells cheap through `gridcoop_home.client.hub`,
and small helpers (free ports, JSON over HTTP, waiting, who listens where). Home Assistant itself
is in `home_assistant.py`, the package index it installs our wheel from in `package_index.py`.
Everything listens on 127.0.0.1 only and is stopped by the tests' fixtures.

    hub = start_hub(folder, HUB_TOML)          # HUB_TOML may use {folder}
    code = hub.invite("Neighbour")             # a join code from `python -m hub invite`
    hub.restart()                              # same port, database and config
    hub.stop()
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import aiohttp
from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable, Meter
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.keys import SigningKey

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    """One HTTP request; JSON in and out (or a form body). Returns (status, decoded body)."""
    headers = {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def listening_addresses(port: int) -> set[str]:
    """The local addresses on which some process listens on TCP `port` (from /proc/net/tcp and
    tcp6): {"127.0.0.1"} for a server bound to loopback only."""
    addresses = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            family = socket.AF_INET if size == 4 else socket.AF_INET6
            addresses.add(socket.inet_ntop(family, words))
    return addresses


def wait_for(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.5) -> Any:
    """Call `check` until it returns something truthy (returned) or `timeout` seconds pass
    (TimeoutError naming `what`). An OSError from `check` counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(poll)


class Process:
    """A child process with its output in a log file (appended to, so a restart keeps the first
    run's output); stopped with SIGTERM, then SIGKILL. `env` replaces the environment when given."""

    def __init__(
        self,
        name: str,
        command: list[str],
        log: Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("a")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(os.environ if env is None else env),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL to its whole process group (it runs in a
        session of its own: an installer it started goes too)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log_file.close()


def hub_command(*args: str) -> list[str]:
    """`python -m hub ...` from the hub's venv (the one running the tests), at the default log
    level, as a user starts it."""
    return [sys.executable, "-m", "hub", *args]


class Hub:
    """A hub process (`python -m hub serve`) on a free loopback port with its SQLite database and
    hub.toml in `folder`. Use `start_hub`."""

    def __init__(self, folder: Path, config_toml: str) -> None:
        self.folder = folder
        self.config = folder / "hub.toml"
        self.config.write_text(config_toml.format(folder=folder))
        self.db_url = f"sqlite:///{folder / 'hub.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Process | None = None

    def start(self) -> None:
        """Start (or start again) and wait until /health answers."""
        command = hub_command("serve", "--config", str(self.config), "--db", self.db_url)
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        process = self.process = Process("hub", command, self.folder / "hub.log", REPO)
        try:
            wait_for(
                lambda: process.check_running() or http("GET", self.url + "/health")[0] == 200,
                30,
                "hub /health",
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def restart(self) -> None:
        """Stop and start on the same port, database and config (the homes stay enrolled)."""
        self.stop()
        self.start()

    def invite(self, name: str) -> str:
        """A join code for a new home called `name` (`python -m hub invite`)."""
        answer = subprocess.run(
            [*hub_command("invite", name, "--db", self.db_url, "--config", str(self.config))],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        match = re.search(r"Join code for .*: (\S+)", answer.stdout)
        assert match, answer.stdout + answer.stderr
        return match.group(1)

    def get(self, path: str) -> Any:
        """GET a JSON path of the hub's API (200 expected), e.g. "/api/v1/market/intervals"."""
        status, body = http("GET", self.url + path)
        assert status == 200, (path, status, body)
        return body


def start_hub(folder: Path, config_toml: str) -> Hub:
    """A started hub; `config_toml` is its hub.toml, where `{folder}` names `folder`."""
    hub = Hub(folder, config_toml)
    hub.start()
    return hub


class Neighbour:
    """A second home (gridcoop_home.client.hub, in a thread) that offers cheap PV energy (or, with
    side="buy", asks for energy) for every interval whose gate is still open, so the Home
    Assistant home has someone to trade with."""

    def __init__(
        self,
        url: str,
        join_code: str,
        price: int = 1,
        energy_wh: int = 2000,
        side: Literal["buy", "sell"] = "sell",
    ) -> None:
        self.url = url
        self.join_code = join_code
        self.price = price
        self.energy_wh = energy_wh
        self.side = side
        self.offered: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _curves(self) -> BidCurves:
        if self.side == "buy":
            return BidCurves(buy=(BidStep(self.price, self.energy_wh),), sell=())
        return BidCurves(buy=(), sell=(BidStep(self.price, self.energy_wh, "pv"),))

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            client = HubClient(session, self.url)
            meters = [Meter(kind, kind, SigningKey.generate()) for kind in ("grid", "pv")]
            await client.enrol(self.join_code, SigningKey.generate(), meters)
            while not self._stop.is_set():
                try:
                    start = int((await client.info())["next_open_interval_start"])
                    if start not in self.offered:
                        await client.submit_bid(start, self._curves())
                        self.offered.append(start)
                except (HubError, HubUnreachable) as err:
                    self.errors.append(str(err))
                await asyncio.sleep(0.5)
