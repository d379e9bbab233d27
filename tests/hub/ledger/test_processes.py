"""Real processes: `python -m hub serve` with a short interval seals a block every interval, a
neighbour's `python -m hub witness` registers, re-verifies and co-signs until blocks are final,
and `python -m hub verify` audits the database the hub wrote."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from gridcoop_home.client.hub import HubClient, HubUnreachable, Meter
from gridcoop_home.protocol.keys import SigningKey

REPO = Path(__file__).resolve().parents[3]
CODE = re.compile(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub", "--log-level", "warning", *args]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_until(check: object, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = await check()  # type: ignore[operator]
        except (aiohttp.ClientError, OSError, HubUnreachable):
            result = None
        if result:
            return result
        await asyncio.sleep(0.3)
    raise AssertionError("timed out")


async def test_a_witness_process_co_signs_the_hubs_blocks_until_they_are_final(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "hub.toml"
    config.write_text(
        "interval_seconds = 3\ngate_closure_seconds = 1\nallow_short_intervals = true\n"
        f'[ledger]\nenabled = true\nkey_file = "{tmp_path / "hub.key"}"\nthreshold = 2\n'
    )
    invite = subprocess.run(
        hub_command("invite", "Witness house", "--db", db),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    code = CODE.search(invite.stdout)
    assert code is not None
    processes.append(
        subprocess.Popen(
            hub_command("serve", "--db", db, "--port", str(port), "--config", str(config)), cwd=REPO
        )
    )
    async with aiohttp.ClientSession() as session:
        client = HubClient(session, base)
        await wait_until(client.health, 20)
        home_key = SigningKey.generate()
        await client.enrol(code.group(1), home_key, [Meter("grid", "grid", SigningKey.generate())])
        (tmp_path / "home.key").write_text(home_key.to_text())
        processes.append(
            subprocess.Popen(
                hub_command(
                    "witness",
                    "--hub",
                    base,
                    "--key",
                    str(tmp_path / "witness.key"),
                    "--home-key",
                    str(tmp_path / "home.key"),
                    "--poll",
                    "0.3",
                    "--listen",
                    "127.0.0.1:0",
                ),
                cwd=REPO,
            )
        )

        async def final_co_signed_block() -> dict[str, object] | None:
            async with session.get(base + "/api/v1/ledger/blocks?limit=1000") as response:
                blocks = (await response.json())["blocks"]
            return next((b for b in blocks if b["final"] and b["signers"] == [0, 1]), None)

        block = await wait_until(final_co_signed_block, 60)
        async with session.get(base + "/api/v1/ledger/head") as response:
            head = await response.json()
    assert [v["name"] for v in head["validators"]] == ["hub", "witness"]
    assert head["final_height"] is not None and head["final_height"] >= block["height"]  # type: ignore[index]
    assert all(p.poll() is None for p in processes), "hub and witness are still running"
    verify = subprocess.run(
        hub_command("verify", "--db", db), cwd=REPO, capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("OK:")
