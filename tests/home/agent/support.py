"""Real processes for the agent's end-to-end tests: `python -m hub serve` on a free loopback port
(at its default log level), the hub's `invite`, `gridcoop-home join/run` as documented, and a
watcher on the real Mosquitto at 127.0.0.1:1883 under a prefix of the test's own."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt

from tests.hub.fuzz.harness import free_port, http_json

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs" / "home_agent.md"
BROKER = ("127.0.0.1", 1883)
# This checkout first: the venv may hold an editable install of another one.
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(REPO), str(REPO / "home"), os.environ.get("PYTHONPATH", "")]
    ),
    "PYTHONUNBUFFERED": "1",
}
AGENT = [sys.executable, "-m", "gridcoop_home.agent"]  # what the `gridcoop-home` script runs


def unique_prefix() -> str:
    return f"gridcoop-test/{uuid.uuid4().hex[:12]}"


def quick_start_toml(prefix: str, reading_interval: int) -> str:
    """docs/home_agent.md's agent.toml as written, with this test's prefix and reading pace."""
    text = DOCS.read_text()
    block = re.search(r"<!-- quickstart agent\.toml.*?```toml\n(.*?)```", text, re.S)
    assert block, "docs/home_agent.md lost its quick start agent.toml"
    toml = block.group(1)
    assert 'prefix = "gridcoop"' in toml and "reading_interval_seconds = 60" in toml
    return toml.replace('prefix = "gridcoop"', f'prefix = "{prefix}"').replace(
        "reading_interval_seconds = 60", f"reading_interval_seconds = {reading_interval}"
    )


class HubProcess:
    """`python -m hub serve` with 10-second intervals (gate closes 2 s before), no ledger."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{tmp / 'hub.db'}"
        self.config = tmp / "hub.toml"
        self.config.write_text(
            "interval_seconds = 10\ngate_closure_seconds = 2\nallow_short_intervals = true\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tmp / "hub.log"

    def start(self) -> None:
        command = [sys.executable, "-m", "hub", "serve", "--db", self.db, "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--config", str(self.config), "--no-ledger"],
                cwd=self.tmp,
                env=ENV,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if http_json("GET", self.url + "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"hub did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def invite(self, name: str) -> str:
        """`gridcoop-hub invite NAME`, as the operator runs it: the printed join code."""
        out = subprocess.run(
            [sys.executable, "-m", "hub", "invite", name, "--db", self.db],
            cwd=self.tmp,
            env=ENV,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        match = re.search(r"Join code for .*: (\S+)", out)
        assert match, out
        return match.group(1)


def agent(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AGENT, *args], cwd=tmp, env=ENV, capture_output=True, text=True, timeout=60
    )


class AgentProcess:
    def __init__(self, tmp: Path, config: Path) -> None:
        self.log = tmp / "agent.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*AGENT, "run", "--config", str(config)],
                cwd=tmp,
                env=ENV,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Watcher:
    """Every message under a prefix on the real broker, the latest per topic."""

    def __init__(self, client: aiomqtt.Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.latest: dict[str, Any] = {}
        self.seen: list[str] = []

    async def collect(self) -> None:
        async for message in self.client.messages:
            payload = message.payload
            text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
            self.latest[message.topic.value] = text
            self.seen.append(message.topic.value)

    async def wait_for(self, what: str, test: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not test():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout:g} s; seen {sorted(self.latest)}")
            await asyncio.sleep(0.2)

    async def clear(self) -> None:
        """Retained messages of this test leave the broker with it."""
        for topic in {t for t in self.latest}:
            await self.client.publish(topic, b"", retain=True)
