"""Processes for the real Home Assistant end-to-end test: a hub (`python -m hub serve`), Home
Assistant (`hass -c CONFIG_DIR` from .venv-ha) and a neighbour home that sells cheap through
`gridcoop_home.client.hub`. Everything listens on loopback only and is stopped by the test's
fixtures."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable, Meter
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.keys import SigningKey

REPO = Path(__file__).resolve().parents[2]
HASS_VENV = REPO / ".venv-ha"


def find_hass() -> Path | None:
    """The `hass` of the integration's venv (.venv-ha), else one on PATH."""
    local = HASS_VENV / "bin" / "hass"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which("hass")
    return Path(found) if found else None


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


def wait_for(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.5) -> Any:
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
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, command: list[str], log: Path, cwd: Path, **env: str) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def hub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub", "--log-level", "warning", *args]


class Neighbour:
    """A second home (gridcoop_home.client.hub, in a thread) that offers cheap PV energy for every
    interval
    whose gate is still open, so the Home Assistant home has someone to buy from."""

    def __init__(self, url: str, join_code: str, price: int = 1, energy_wh: int = 2000) -> None:
        self.url = url
        self.join_code = join_code
        self.price = price
        self.energy_wh = energy_wh
        self.offered: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            client = HubClient(session, self.url)
            meters = [Meter(kind, kind, SigningKey.generate()) for kind in ("grid", "pv")]
            await client.enrol(self.join_code, SigningKey.generate(), meters)
            while not self._stop.is_set():
                try:
                    start = int((await client.info())["next_open_interval_start"])
                    if start not in self.offered:
                        step = BidStep(self.price, self.energy_wh, "pv")
                        await client.submit_bid(start, BidCurves(buy=(), sell=(step,)))
                        self.offered.append(start)
                except (HubError, HubUnreachable) as err:
                    self.errors.append(str(err))
                await asyncio.sleep(0.5)
