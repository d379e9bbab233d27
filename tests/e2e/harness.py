"""Runs a real hub process (the demo, with the dashboard) and a headless Chromium for the tests.

Chromium is Debian's (/usr/bin/chromium, installed by scripts/install-browser), driven by
Playwright's Python API; Playwright's own browser download is never used.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from gridcoop_home.client.hub import HubClient, Meter
from gridcoop_home.protocol.keys import SigningKey

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking switches Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_TOKEN = "gcadm_e2e-" + os.urandom(12).hex()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


class HubProcess:
    """`gridcoop-hub COMMAND ... --port P` with the dashboard, as a child process on a free port."""

    def __init__(self, name: str, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = SCREENSHOTS.parent / f"{name}-hub.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "GRIDCOOP_ADMIN_TOKEN_SHA256": hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
        }
        command = [sys.executable, "-m", "tests.e2e.with_dashboard", *args]
        command += ["--port", str(self.port)]
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log.read_text()[-2000:]}")
            try:
                if get_json(f"{self.url}/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"hub not up within {timeout} s: {self.log.read_text()[-2000:]}")

    def wait_for_trades(self, intervals: int = 2, timeout: float = 40) -> None:
        """Until the hub answers and `intervals` intervals have cleared with a local price."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log.read_text()[-2000:]}")
            try:
                status, body = get_json(f"{self.url}/api/v1/market/intervals")
            except OSError:
                status, body = 0, None
            if (
                status == 200
                and sum(i["price"] is not None for i in body["intervals"]) >= intervals
            ):
                return
            time.sleep(0.3)
        raise TimeoutError(f"no trades within {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


class DemoHub(HubProcess):
    """The demo neighbourhood (`gridcoop-hub demo`): homes enrol, upload readings and bid."""

    def __init__(self, interval_seconds: int = 4, homes: int = 8) -> None:
        super().__init__(
            "demo", "demo", "--interval-seconds", str(interval_seconds), "--homes", str(homes)
        )


def enrol_home(base_url: str, join_code: str) -> str:
    """Enrol a new home with a join code, as Home Assistant would; returns its home id.
    Runs in its own thread: Playwright's sync API owns this thread's event loop."""
    result: dict[str, Any] = {}

    async def enrol() -> None:
        async with aiohttp.ClientSession() as session:
            client = HubClient(session, base_url)
            answer = await client.enrol(
                join_code, SigningKey.generate(), [Meter("grid", "grid", SigningKey.generate())]
            )
            result["home_id"] = answer["home"]["home_id"]

    def run() -> None:
        try:
            asyncio.run(enrol())
        except Exception as err:  # reported in the test's thread
            result["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in result:
        raise result["error"]
    home_id: str = result["home_id"]
    return home_id
