"""Ingest of signed meter readings over HTTP in batches into SQLite.

Starts a real hub (`python -m hub serve`, SQLite file) as a separate process, enrols homes, then
uploads pre-signed readings in batches from concurrent homes and reports readings/s. In the same
run it measures the raw Ed25519 verification rate of one core, the hub's unavoidable floor, and
prints the ratio. Target: at least 3,000 readings/s.

    .venv/bin/python bench/bench_ingest.py [--homes 20] [--batches 10] [--batch-size 250]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from gridcoop_home.client.hub import HubClient, Meter
from gridcoop_home.protocol.canonical import canonical_json
from gridcoop_home.protocol.envelope import SignedMessage, now_ms
from gridcoop_home.protocol.keys import SigningKey, verify

TARGET_READINGS_PER_S = 3000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raw_verify_rate(samples: int = 3000) -> float:
    key = SigningKey.generate()
    meter = Meter("grid", "grid", key)
    messages = [meter.reading(i, 0) for i in range(samples)]
    payloads = [canonical_json(m.unsigned()) for m in messages]
    started = time.perf_counter()
    for message, payload in zip(messages, payloads, strict=True):
        assert verify(key.public_text, payload, message.sig)
    return samples / (time.perf_counter() - started)


async def wait_for_hub(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(100):
        try:
            async with session.get(base + "/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("hub did not start")


def invite(db_url: str, name: str) -> str:
    output = subprocess.run(
        [sys.executable, "-m", "hub", "invite", name, "--db", db_url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.split(": ", 1)[1].split()[0]


async def run(homes: int, batches: int, batch_size: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        port = free_port()
        codes = [invite(db_url, f"Bench {n}") for n in range(homes)]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub",
                "--log-level",
                "warning",
                "serve",
                "--db",
                db_url,
                "--port",
                str(port),
            ],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            async with aiohttp.ClientSession() as session:
                base = f"http://127.0.0.1:{port}"
                await wait_for_hub(session, base)
                clients = []
                for code in codes:
                    meter = Meter("grid", "grid", SigningKey.generate())
                    client = HubClient(session, base)
                    await client.enrol(code, SigningKey.generate(), [meter])
                    clients.append((client, meter))
                uploads = [
                    [_batch(meter, b, batch_size) for b in range(batches)] for _c, meter in clients
                ]
                total = homes * batches * batch_size
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(
                        _upload_all(client, home_batches)
                        for (client, _m), home_batches in zip(clients, uploads, strict=True)
                    )
                )
                elapsed = time.perf_counter() - started
                accepted = sum(results)
                if accepted != total:
                    raise RuntimeError(f"only {accepted} of {total} readings accepted")
                return total / elapsed
        finally:
            server.terminate()
            server.wait(timeout=10)


def _batch(meter: Meter, index: int, size: int) -> list[SignedMessage]:
    start_ts = now_ms() - 3_600_000  # a backlog from the last hour
    first = index * size
    return [meter.reading((first + i) * 10, 0, ts_ms=start_ts + first + i) for i in range(size)]


async def _upload_all(client: HubClient, batches: list[list[SignedMessage]]) -> int:
    accepted = 0
    for batch in batches:
        result = await client.upload_readings(batch)
        accepted += int(result["accepted"])
    return accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=20)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=250)
    args = parser.parse_args()
    verify_rate = raw_verify_rate()
    rate = asyncio.run(run(args.homes, args.batches, args.batch_size))
    total = args.homes * args.batches * args.batch_size
    shape = f"{args.homes} homes x {args.batches} batches x {args.batch_size}"
    print(f"readings uploaded        : {total} ({shape})")
    print(f"raw Ed25519 verify rate  : {verify_rate:,.0f} /s on one core (same run)")
    print(f"hub ingest over HTTP     : {rate:,.0f} readings/s into SQLite (WAL, synchronous=FULL)")
    print(f"ratio ingest / raw verify: {rate / verify_rate:.2f}")
    verdict = "PASS" if rate >= TARGET_READINGS_PER_S else "FAIL"
    print(f"target >= {TARGET_READINGS_PER_S} readings/s: {verdict}")


if __name__ == "__main__":
    main()
