"""A real hub process for fuzzing, and the credentials that get generated requests past its doors.

`FuzzHub.start(tmp)` runs `python -m hub serve` on a free loopback port with a TOML config (short
intervals so the market clears and the ledger seals blocks while the fuzzer runs, `[ledger]
enabled = true` with its BLS key file in `tmp`) and an admin token whose SHA-256 goes in through
GRIDCOOP_ADMIN_TOKEN_SHA256. It invites and enrols two homes (home key + a grid and a pv meter)
through the admin API and the public enrolment endpoint: the fuzzing home, whose keys sign the
generated requests, and a victim home the fuzzer may revoke.

Only the standard library and the hub's own protocol code are used here: the hand-written hostile
tests import this module on every supported Python, schemathesis or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gridcoop_home.protocol.enrolment import build_enrolment
from gridcoop_home.protocol.envelope import SequenceCounter
from gridcoop_home.protocol.keys import SigningKey

from hub.config import HubConfig

REPO = Path(__file__).resolve().parents[3]
ADMIN_TOKEN_ENV = "GRIDCOOP_ADMIN_TOKEN_SHA256"  # hub.server.admin.ADMIN_TOKEN_ENV
STATE_ENV = "GRIDCOOP_FUZZ_STATE"  # a JSON file with the URL and keys (for `st run` hooks)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# `serve` turns request limits on by default where the hub has them ([limits], hub.server.limits);
# the fuzzer sends everything from one address, so they stay on (and fuzzed) with room to spare.
HAS_LIMITS = "limits" in {f.name for f in fields(HubConfig)}
LIMITS = (
    "[limits]\nenabled = true\nip_per_second = 100000\nip_burst = 100000\n"
    "key_per_second = 100000\nkey_burst = 100000\n"
)


def hub_config(tmp: Path, interval_seconds: int = 5, market_mode: str = "periodic") -> str:
    """The fuzz hub's TOML: short intervals (the market clears and blocks are sealed during the
    run), ledger on with its key in `tmp`, request limits far above what one fuzzer sends."""
    network = f'[network]\nmarket_mode = "{market_mode}"\n' if market_mode != "periodic" else ""
    network += LIMITS if HAS_LIMITS else ""
    return (
        f"interval_seconds = {interval_seconds}\n"
        "gate_closure_seconds = 1\n"
        "allow_short_intervals = true\n"
        "[ledger]\n"
        "enabled = true\n"
        f"key_file = {json.dumps(str(tmp / 'ledger.key'))}\n"
        f"{network}"
    )


@dataclass
class Credentials:
    """Everything a client needs to reach past authentication on the fuzz hub."""

    base_url: str
    admin_token: str
    home_id: str
    home_key: SigningKey
    meters: dict[str, SigningKey]  # meter name (= kind) -> key
    # A second home the fuzzer may revoke: admin revocations aimed at the fuzzing home's id or
    # keys (schemathesis learns them from responses) are redirected here (hooks.py).
    victim_home_id: str = ""
    victim_key_ids: list[str] = field(default_factory=list)
    request_seq: SequenceCounter = field(default_factory=SequenceCounter)
    message_seq: SequenceCounter = field(default_factory=SequenceCounter)

    def to_json(self) -> str:
        return json.dumps(
            {
                "base_url": self.base_url,
                "admin_token": self.admin_token,
                "home_id": self.home_id,
                "home_key": self.home_key.to_text(),
                "meters": {name: key.to_text() for name, key in self.meters.items()},
                "victim_home_id": self.victim_home_id,
                "victim_key_ids": self.victim_key_ids,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Credentials:
        data = json.loads(text)
        return cls(
            base_url=data["base_url"],
            admin_token=data["admin_token"],
            home_id=data["home_id"],
            home_key=SigningKey.from_text(data["home_key"]),
            meters={name: SigningKey.from_text(key) for name, key in data["meters"].items()},
            victim_home_id=data["victim_home_id"],
            victim_key_ids=list(data["victim_key_ids"]),
        )

    @property
    def own_ids(self) -> set[str]:
        """The fuzzing home's id and key ids: what must never be revoked during a run."""
        keys = [self.home_key, *self.meters.values()]
        return {self.home_id, *(key.key_id for key in keys)}


def http_json(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """A small blocking JSON request (urllib): status and decoded body, errors included."""
    data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
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


class FuzzHub:
    """A `python -m hub serve` subprocess with two enrolled homes; stop() ends it."""

    def __init__(
        self, tmp: Path, *, interval_seconds: int = 5, market_mode: str = "periodic"
    ) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.admin_token = "gcadm_" + secrets.token_urlsafe(32)
        self.db_url = f"sqlite:///{tmp / 'hub.db'}"
        self.log_path = tmp / "hub.log"
        self.config_path = tmp / "hub.toml"
        self.config_path.write_text(hub_config(tmp, interval_seconds, market_mode))
        self.process: subprocess.Popen[bytes] | None = None
        self.credentials: Credentials | None = None

    def start(self, timeout: float = 30) -> Credentials:
        env = {
            **os.environ,
            ADMIN_TOKEN_ENV: hashlib.sha256(self.admin_token.encode()).hexdigest(),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hub",  # at the default log level (INFO), as an operator runs it
                    "serve",
                    "--db",
                    self.db_url,
                    "--port",
                    str(self.port),
                    "--config",
                    str(self.config_path),
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy(timeout)
        home_id, home_key, meters = self.enrol("Fuzz house")
        victim_id, victim_key, victim_meters = self.enrol("Victim house")
        self.credentials = Credentials(
            self.base_url,
            self.admin_token,
            home_id,
            home_key,
            meters,
            victim_home_id=victim_id,
            victim_key_ids=[victim_key.key_id, *(key.key_id for key in victim_meters.values())],
        )
        return self.credentials

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited at start:\n{self.log()}")
            try:
                status, _ = http_json("GET", self.base_url + "/health", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hub did not answer /health within {timeout} s:\n{self.log()}")

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def enrol(self, name: str) -> tuple[str, SigningKey, dict[str, SigningKey]]:
        """Invite (admin API) and enrol a home with a grid and a pv meter."""
        status, invite = http_json(
            "POST", self.base_url + "/api/v1/admin/invites", {"name": name}, self.admin_headers()
        )
        assert status == 201, (status, invite)
        home_key = SigningKey.generate()
        meters = {"grid": SigningKey.generate(), "pv": SigningKey.generate()}
        body = build_enrolment(
            invite["join_code"], home_key, {name: (name, key) for name, key in meters.items()}
        )
        status, answer = http_json("POST", self.base_url + "/api/v1/enrol", body)
        assert status == 201, (status, answer)
        return answer["home"]["home_id"], home_key, meters

    def write_state(self, path: Path) -> Path:
        assert self.credentials is not None
        path.write_text(self.credentials.to_json())
        return path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def server_errors(self) -> list[str]:
        """The hub's logged errors (aiohttp logs every unhandled exception: a 500)."""
        problems = []
        for line in self.log().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("level") in ("error", "critical"):
                exception = str(record.get("exception", ""))
                if "aiohttp.http_exceptions." in exception:
                    continue  # a request aiohttp could not parse (answered 400), not a hub error
                last = exception.strip().splitlines()[-1] if exception.strip() else ""
                problems.append(f"{record.get('message')}: {last}")
        return problems

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
