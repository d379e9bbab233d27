"""Helpers for real-process tests: free ports, `python -m hub` commands, polling."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from gridcoop_home.client.hub import HubUnreachable

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub", *args]  # the default log level (INFO), as deployed


def run_hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(hub_command(*args), cwd=REPO, capture_output=True, text=True, check=False)


def write_config(path: Path, interval: int = 3, gate: int = 1, extra: str = "") -> Path:
    """A hub.toml with short intervals and the ledger on (its key next to the file)."""
    path.write_text(
        f"interval_seconds = {interval}\ngate_closure_seconds = {gate}\n"
        "allow_short_intervals = true\n"
        f'[ledger]\nenabled = true\nkey_file = "{path.parent / "hub-ledger.key"}"\n'
        f"[limits]\nenabled = false\n{extra}"
    )
    return path


@dataclass
class Worker:
    """One `serve` process (restartable on the same port)."""

    db: str
    port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                hub_command(
                    "serve",
                    "--db",
                    self.db,
                    "--port",
                    str(self.port),
                    "--config",
                    str(self.config),
                    "--leader-poll",
                    "0.2",
                ),
                cwd=REPO,
                stdout=log,
                stderr=log,
            )
        return self.process

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no cleanup, no goodbye
        self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Processes:
    workers: list[Worker] = field(default_factory=list)
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def worker(self, db: str, config: Path, log: Path) -> Worker:
        worker = Worker(db, free_port(), config, log)
        self.workers.append(worker)
        return worker

    @property
    def all(self) -> list[subprocess.Popen[bytes]]:
        return [w.process for w in self.workers if w.process is not None] + self.others


async def wait_until[T](check: Callable[[], Awaitable[T | None]], timeout: float) -> T:
    """Poll `check` until it returns something truthy; connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = await check()
        except (aiohttp.ClientError, OSError, HubUnreachable, TimeoutError):
            result = None
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s")


async def is_leader(session: aiohttp.ClientSession, worker: Worker) -> bool:
    async with session.get(worker.url + "/health/leader") as response:
        return response.status == 200
