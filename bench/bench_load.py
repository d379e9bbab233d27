"""Load: many homes uploading signed readings every 10 s and bidding every interval, against real
hub processes (`python -m hub serve`).

Default: 1,000 homes against one SQLite hub for 10 minutes, with 30 s intervals (gate closure
5 s, `allow_short_intervals = true`) so that about 20 intervals clear during the run. The homes
are enrolled first through the admin API (invite) and POST /api/v1/enrol, each with its home key
and a grid meter key; then each home, on its own random phase, uploads one signed reading every
`--reading-period` seconds and one signed bid per interval (for the next open interval, at a
random moment before its gate closes), through gridcoop_home.client.hub.HubClient over a bounded
pool of
`--connections` keep-alive connections driven by asyncio from this process.

Printed: requests/s and readings/s, p50/p99/max latency per endpoint over the whole run and
over its first minute on its own (a hub that starts slow must not hide behind a long run), a
p99 timeline per 30 s, errors by reason, the slowest requests and where in the interval they
were sent, a /health probe on its own connection four times a second (slow probes = the hub's
event loop was busy; slow writes with fast probes = requests queued on the database), the
intervals the hub cleared meanwhile (participants, lateness), the hub's CPU share and CPU per
request, what the rest of the machine used meanwhile (other jobs make latencies noisy), and
PASS/FAIL against the targets: zero errors and p99 under 200 ms on every endpoint, over the
whole run and over the first minute. `--profile-hub FILE` runs the hubs under cProfile.

    .venv/bin/python bench/bench_load.py                          # 1,000 homes, 10 minutes
    .venv/bin/python bench/bench_load.py --duration 120           # a 2-minute run
    .venv/bin/python bench/bench_load.py --homes 10000 --workers 2 \\
        --db postgresql://postgres@127.0.0.1:5432/gridcoop_load   # N hubs on one PostgreSQL

With `--workers N` it starts N `serve` processes on free loopback ports against the same
database URL and spreads the homes over them round-robin (a PostgreSQL database named in the URL
is created if it does not exist, and dropped afterwards if this run created it). Exactly one
worker should clear each interval (the multi-worker lease); the run reports intervals cleared
more than once or by several workers, and every error line the workers logged.

The driver shares the machine with the hub: its own event-loop lag is reported so that a
saturated driver is not mistaken for a slow hub. CI never runs this benchmark (`make bench`, which
runs every bench/bench_*.py, would: 10 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable, Meter
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.keys import SigningKey

from hub.config import HubConfig

TARGET_P99_MS = 200.0
FIRST_MINUTE = 60.0  # the target holds from the start: this window is reported on its own
TIMELINE_STEP = 30.0  # seconds per step of the printed p99 timeline
ADMIN_TOKEN = "gcadm_bench-load-token"  # a throwaway hub; only its SHA-256 goes to the hub
READINGS = "POST /api/v1/readings"
BIDS = "POST /api/v1/bids"
HEALTH = "GET /health (probe)"


# -- hub processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_config(work: Path, interval: int, gate: int, ledger: bool) -> Path:
    """The hubs' TOML. Request limits ([limits], where the hub has them) stay on at their per-key
    defaults, but the per-address bucket is opened wide: every home here shares 127.0.0.1."""
    limits = (
        "[limits]\nenabled = true\nip_per_second = 100000\nip_burst = 100000\n"
        if "limits" in {f.name for f in fields(HubConfig)}
        else ""
    )
    path = work / "hub.toml"
    path.write_text(
        f"interval_seconds = {interval}\n"
        f"gate_closure_seconds = {gate}\n"
        "allow_short_intervals = true\n"
        "[ledger]\n"
        f"enabled = {'true' if ledger else 'false'}\n"
        f"key_file = {json.dumps(str(work / 'ledger.key'))}\n"
        f"{limits}"
    )
    return path


@dataclass
class Worker:
    index: int
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    cpu_start: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """utime + stime of the hub process, from /proc (0 where there is no /proc)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def error_lines(self) -> list[str]:
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                if line.strip():
                    lines.append(line.strip())
                continue
            if record.get("level") in ("error", "critical"):
                exception = str(record.get("exception", "")).strip().splitlines()
                lines.append(f"{record.get('message')}: {exception[-1] if exception else ''}")
        return lines


def start_worker(
    index: int, db_url: str, config: Path, work: Path, profile: Path | None = None
) -> Worker:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "GRIDCOOP_ADMIN_TOKEN_SHA256": hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
    }
    port = free_port()
    log = work / f"hub-{index}.log"
    python = [sys.executable]
    if profile is not None:  # cProfile writes its file when the hub stops on SIGINT
        python += ["-m", "cProfile", "-o", f"{profile}.{index}"]
    serve = ["serve", "--db", db_url, "--port", str(port), "--config", str(config)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*python, "-m", "hub", "--log-level", "warning", *serve],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # a background shell may hand SIGINT down ignored; stop_workers relies on it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    return Worker(index, port, process, log)


async def start_workers(
    session: aiohttp.ClientSession,
    count: int,
    args: argparse.Namespace,
    db_url: str,
    config: Path,
    work: Path,
    workers: list[Worker],
) -> None:
    """Start `count` hubs into `workers`. Staggered (default): the first one creates or migrates
    the schema alone, the others start once it answers."""
    first = start_worker(0, db_url, config, work, args.profile_hub)
    workers.append(first)
    if args.stagger:
        await wait_healthy(session, first, 60)
    for index in range(1, count):
        workers.append(start_worker(index, db_url, config, work, args.profile_hub))
    for worker in workers:
        await wait_healthy(session, worker, 60)


def stop_workers(workers: list[Worker]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGINT)  # a clean stop (and a written profile)
    for worker in workers:
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=5)


async def wait_healthy(session: aiohttp.ClientSession, worker: Worker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(
                f"hub {worker.index} exited at start:\n{worker.log.read_text()[-3000:]}"
            )
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with session.get(worker.base + "/health") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"hub {worker.index} did not answer /health within {timeout} s")


def machine_cpu_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (/proc/stat; 0 without)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """This driver's CPU seconds (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuShares:
    """Shares of one core over the run: each hub, this driver, everything else on the machine
    (other jobs make latencies noisy; compare CPU per request between runs instead)."""

    hubs: list[float]
    driver: float
    others: float


# -- PostgreSQL -----------------------------------------------------------------------------------


async def ensure_postgres_database(url: str) -> bool:
    """Create the database the URL names if it does not exist; True when this call created it."""
    import asyncpg  # type: ignore[import-untyped]

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("--db must name a database, e.g. postgresql://postgres@127.0.0.1/load")
    admin_url = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    conn = await asyncpg.connect(admin_url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await conn.close()


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    parts = urlsplit(url)
    admin_url = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await conn.close()


# -- measurements ---------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # when each request of `latencies` was sent, in seconds since the load started
    sent_at: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    readings_sent: int = 0
    readings_accepted: int = 0
    readings_rejected: Counter[str] = field(default_factory=Counter)
    bids_stored: int = 0
    started: float = 0.0
    started_unix: float = 0.0  # time.time() at `started`
    loop_lag: list[float] = field(default_factory=list)
    health_phase: list[tuple[float, float]] = field(default_factory=list)
    slow: list[tuple[float, str, float]] = field(default_factory=list)  # seconds, endpoint, sent

    def record(self, endpoint: str, seconds: float, started: float) -> None:
        """A request that took `seconds`, sent at `started` (time.perf_counter())."""
        self.latencies[endpoint].append(seconds)
        self.sent_at[endpoint].append(started - self.started)

    def window(self, endpoint: str, start: float, end: float) -> list[float]:
        """Latencies of the requests sent from `start` to `end` seconds into the load."""
        return [
            seconds
            for seconds, sent in zip(self.latencies[endpoint], self.sent_at[endpoint], strict=True)
            if start <= sent < end
        ]

    def requests(self) -> int:
        """Requests the homes made (the /health probe is not counted)."""
        served = sum(len(v) for endpoint, v in self.latencies.items() if endpoint != HEALTH)
        return served + sum(self.errors.values())


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure_loop_lag(stats: Stats, stop: asyncio.Event) -> None:
    """How late this process's event loop wakes up: the driver's own saturation."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.1)
        stats.loop_lag.append(time.perf_counter() - before - 0.1)


# -- homes ----------------------------------------------------------------------------------------


@dataclass
class BenchHome:
    client: HubClient
    meter: Meter
    rng: random.Random
    import_wh: int = 0
    export_wh: int = 0
    role: str = "buyer"

    def next_reading(self, period: float) -> Any:
        self.import_wh += self.rng.randint(0, int(3 * period))  # up to ~1 kW average
        if self.role == "seller":
            self.export_wh += self.rng.randint(0, int(4 * period))
        return self.meter.reading(self.import_wh, self.export_wh)

    def curves(self) -> BidCurves:
        if self.role == "buyer":
            top = self.rng.randint(15, 29)
            return BidCurves(
                buy=(
                    BidStep(top, self.rng.randint(100, 800), "base"),
                    BidStep(top - 5, self.rng.randint(100, 1500), "battery"),
                ),
                sell=(),
            )
        low = self.rng.randint(8, 20)
        return BidCurves(
            buy=(),
            sell=(
                BidStep(low, self.rng.randint(100, 1500), "pv"),
                BidStep(low + 6, self.rng.randint(100, 800), "battery"),
            ),
        )


async def enrol_homes(
    session: aiohttp.ClientSession, workers: list[Worker], count: int, parallel: int, seed: int
) -> list[BenchHome]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    gate = asyncio.Semaphore(parallel)
    rng = random.Random(seed)

    async def one(n: int) -> BenchHome:
        worker = workers[n % len(workers)]
        async with gate:
            async with session.post(
                worker.base + "/api/v1/admin/invites", json={"name": f"Load {n}"}, headers=admin
            ) as response:
                if response.status != 201:
                    raise RuntimeError(f"invite {n}: {response.status} {await response.text()}")
                code = (await response.json())["join_code"]
            client = HubClient(session, worker.base)
            meter = Meter("grid", "grid", SigningKey.generate())
            await client.enrol(code, SigningKey.generate(), [meter])
        home_rng = random.Random(rng.random())
        role = "seller" if n % 3 == 0 else "buyer"
        return BenchHome(client, meter, home_rng, import_wh=home_rng.randint(0, 10**6), role=role)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def timed(stats: Stats, endpoint: str, call: Any) -> Any:
    started, wall = time.perf_counter(), time.time()
    try:
        answer = await call
    except HubError as err:
        stats.errors[f"{endpoint} {err.status} {err.reason}"] += 1
        return None
    except (HubUnreachable, aiohttp.ClientError, TimeoutError) as err:
        stats.errors[f"{endpoint} {type(err).__name__}"] += 1
        return None
    seconds = time.perf_counter() - started
    stats.record(endpoint, seconds, started)
    stats.slow.append((seconds, endpoint, wall))
    if len(stats.slow) > 2000:
        stats.slow = sorted(stats.slow, reverse=True)[:20]
    return answer


async def run_readings(home: BenchHome, stats: Stats, period: float, deadline: float) -> None:
    await asyncio.sleep(home.rng.uniform(0, period))  # homes are not synchronised
    next_at = time.monotonic()
    while next_at < deadline:
        answer = await timed(
            stats, READINGS, home.client.upload_readings([home.next_reading(period)])
        )
        stats.readings_sent += 1
        if answer is not None:
            stats.readings_accepted += int(answer["accepted"])
            for result in answer["results"]:
                if result["status"] == "rejected":
                    stats.readings_rejected[result.get("reason", "?")] += 1
        next_at += period
        await asyncio.sleep(max(0.0, min(next_at, deadline) - time.monotonic()))


async def run_bids(
    home: BenchHome, stats: Stats, interval: int, gate: int, deadline: float
) -> None:
    """Once per interval, at a random moment before the next gate closure, a bid for the next
    interval (as a home's planner does each interval).

    The moment is uniform over the interval's bidding window (from its start to a second before
    the gate), the first interval's too: a moment already past when the run starts moves to the
    next interval. (Drawn from what was left of the window, every home's first bid fell into it:
    1,000 bids in a few seconds when a run started late in an interval, a burst no later
    interval sees.)"""
    while True:
        now = time.time()
        current = now - now % interval
        at = home.rng.uniform(current, current + interval - gate - 1.0)
        if at < now:  # this interval's moment has passed: the next interval's
            current, at = current + interval, at + interval
        target = int(current) + interval
        if time.monotonic() + (at - now) >= deadline:
            return
        await asyncio.sleep(max(0.0, at - time.time()))
        answer = await timed(stats, BIDS, home.client.submit_bid(target, home.curves()))
        if answer is not None:
            stats.bids_stored += 1
        # next round in the next interval (or the end of the run)
        rest = min(target - gate - time.time(), deadline - time.monotonic())
        await asyncio.sleep(max(0.0, rest))


async def probe_health(
    session: aiohttp.ClientSession,
    base: str,
    stats: Stats,
    stop: asyncio.Event,
    gate: int,
    interval: int,
) -> None:
    """GET /health four times a second: a stall of the hub's event loop shows up here, with
    where in the interval it happened (seconds after the last gate closure)."""
    while not stop.is_set():
        started, wall = time.perf_counter(), time.time()
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(base + "/health") as response:
                await response.read()
            seconds = time.perf_counter() - started
            stats.record(HEALTH, seconds, started)
            since_gate = (wall + gate) % interval  # the gate closes `gate` s before a start
            stats.health_phase.append((seconds, since_gate))
        await asyncio.sleep(0.25)


async def report_progress(stats: Stats, stop: asyncio.Event, every: float) -> None:
    last_requests, last_time = 0, time.perf_counter()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        now, requests = time.perf_counter(), stats.requests()
        rate = (requests - last_requests) / (now - last_time)
        recent = [v for values in stats.latencies.values() for v in values[-2000:]]
        print(
            f"  t+{now - stats.started:5.0f}s  {rate:7.1f} req/s  "
            f"p99(recent) {percentile(recent, 0.99) * 1000:6.1f} ms  "
            f"errors {sum(stats.errors.values())}",
            flush=True,
        )
        last_requests, last_time = requests, now


# -- the run --------------------------------------------------------------------------------------


async def fetch_intervals(
    session: aiohttp.ClientSession, worker: Worker, since: int, until: int
) -> list[dict[str, Any]]:
    url = f"{worker.base}/api/v1/market/intervals?from={since}&to={until}&limit=3000"
    async with session.get(url) as response:
        return list((await response.json())["intervals"])


async def run(args: argparse.Namespace, work: Path) -> int:
    db_url = args.db or f"sqlite:///{work / 'load.db'}"
    created_db = False
    if db_url.startswith("postgresql"):
        created_db = await ensure_postgres_database(db_url)
    config = hub_config(work, args.interval_seconds, args.gate_seconds, not args.no_ledger)
    workers: list[Worker] = []
    stats = Stats()
    load_started_unix = 0
    try:
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=args.connections)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await start_workers(session, args.workers, args, db_url, config, work, workers)
            enrol_started = time.perf_counter()
            homes = await enrol_homes(session, workers, args.homes, args.enrol_parallel, args.seed)
            enrol_seconds = time.perf_counter() - enrol_started
            print(
                f"enrolled {len(homes)} homes in {enrol_seconds:.1f} s "
                f"({len(homes) / enrol_seconds:.0f} homes/s) over {len(workers)} hub process(es)"
            )
            for worker in workers:
                worker.cpu_start = worker.cpu_seconds()
            load_before = os.getloadavg()
            machine_start, driver_start = machine_cpu_seconds(), own_cpu_seconds()
            stop = asyncio.Event()
            stats.started, stats.started_unix = time.perf_counter(), time.time()
            load_started_unix = int(time.time())
            deadline = time.monotonic() + args.duration
            probe = aiohttp.ClientSession(timeout=timeout)  # its own connection: no pool queue
            helpers = [
                asyncio.create_task(measure_loop_lag(stats, stop)),
                asyncio.create_task(
                    probe_health(
                        probe,
                        workers[0].base,
                        stats,
                        stop,
                        args.gate_seconds,
                        args.interval_seconds,
                    )
                ),
                asyncio.create_task(report_progress(stats, stop, args.progress_every)),
            ]
            tasks = [run_readings(h, stats, args.reading_period, deadline) for h in homes]
            tasks += [
                run_bids(h, stats, args.interval_seconds, args.gate_seconds, deadline)
                for h in homes
            ]
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - stats.started
            stop.set()
            await asyncio.gather(*helpers)
            await probe.close()
            load_after = os.getloadavg()
            hubs = [(w.cpu_seconds() - w.cpu_start) / elapsed for w in workers]
            driver = (own_cpu_seconds() - driver_start) / elapsed
            machine = (machine_cpu_seconds() - machine_start) / elapsed
            cpu = CpuShares(hubs, driver, max(0.0, machine - sum(hubs) - driver))
            await asyncio.sleep(args.gate_seconds + 2)  # let the last gate closure clear
            horizon = int(time.time()) + 2 * args.interval_seconds
            intervals_by_worker = [
                await fetch_intervals(session, w, load_started_unix, horizon) for w in workers
            ]
    finally:
        stop_workers(workers)
        if created_db and not args.keep_db:
            await drop_postgres_database(db_url)
    if args.latency_log:
        write_latency_log(args.latency_log, stats)
    return report(args, stats, elapsed, workers, cpu, intervals_by_worker, load_before, load_after)


def write_latency_log(path: Path, stats: Stats) -> None:
    """Every request, to line up with what the hub did at that moment (its logs, a profile)."""
    with path.open("w") as out:
        out.write("sent_unix,sent_s,endpoint,ms\n")
        for endpoint, values in stats.latencies.items():
            for seconds, sent in zip(values, stats.sent_at[endpoint], strict=True):
                out.write(
                    f"{stats.started_unix + sent:.3f},{sent:.3f},{endpoint},{seconds * 1000:.2f}\n"
                )


def report(
    args: argparse.Namespace,
    stats: Stats,
    elapsed: float,
    workers: list[Worker],
    cpu: CpuShares,
    intervals_by_worker: list[list[dict[str, Any]]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> int:
    requests = stats.requests()
    errors = sum(stats.errors.values())
    print()
    print(
        f"homes                    : {args.homes} over {len(workers)} hub process(es), "
        f"{'SQLite' if not args.db else args.db.split('://')[0]}"
        f"{', ledger on' if not args.no_ledger else ', ledger off'}"
    )
    print(
        f"run                      : {elapsed:.0f} s, readings every {args.reading_period:g} s, "
        f"intervals {args.interval_seconds} s (gate {args.gate_seconds} s), "
        f"{args.connections} connections"
    )
    print(
        f"throughput               : {requests / elapsed:,.1f} requests/s, "
        f"{stats.readings_accepted / elapsed:,.1f} readings/s accepted "
        f"({stats.readings_sent} sent), {stats.bids_stored} bids stored"
    )
    worst_p99 = 0.0
    for title, start, end in (("whole run", 0.0, elapsed), ("first minute", 0.0, FIRST_MINUTE)):
        print(f"latency, {title} (requests sent from {start:.0f} s to {min(end, elapsed):.0f} s):")
        for endpoint in sorted(stats.latencies):
            values = stats.window(endpoint, start, end)
            if not values:
                continue
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            if endpoint != HEALTH:
                worst_p99 = max(worst_p99, p99)
            print(
                f"  {endpoint:<23}: n={len(values):>7}  p50 {p50:6.1f} ms  "
                f"p99 {p99:6.1f} ms  max {max(values) * 1000:7.1f} ms  "
                f"mean {statistics.fmean(values) * 1000:6.1f} ms"
            )
    print_timeline(stats, elapsed)
    print(f"errors                   : {errors}" + (f"  {dict(stats.errors)}" if errors else ""))
    if stats.readings_rejected:
        print(f"readings rejected        : {dict(stats.readings_rejected)}")
    worst = sorted(stats.health_phase, reverse=True)[:5]
    if worst:
        print(
            "slowest /health probes    : "
            + ", ".join(
                f"{seconds * 1000:.0f} ms at gate+{phase:.1f} s" for seconds, phase in worst
            )
            + " (the hub's event loop was busy or blocked then)"
        )
    interval, gate = args.interval_seconds, args.gate_seconds
    slowest = sorted(stats.slow, reverse=True)[:5]
    if slowest:
        print(
            "slowest home requests     : "
            + ", ".join(
                f"{seconds * 1000:.0f} ms sent at gate+{(sent + gate) % interval:.1f} s"
                for seconds, _endpoint, sent in slowest
            )
        )
    lag99 = percentile(stats.loop_lag, 0.99) * 1000
    print(
        f"driver event-loop lag    : p50 {percentile(stats.loop_lag, 0.5) * 1000:.1f} ms, "
        f"p99 {lag99:.1f} ms (this process; high = the driver itself is saturated)"
    )
    hub_ms = sum(cpu.hubs) * elapsed * 1000 / max(1, requests)
    print(
        "hub CPU                  : "
        + ", ".join(f"{c * 100:.0f}%" for c in cpu.hubs)
        + f" of one core ({hub_ms:.2f} ms a request); machine: {os.cpu_count()} cores, "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(
        f"other CPU                : this driver {cpu.driver * 100:.0f}%, everything else on "
        f"the machine {cpu.others * 100:.0f}% of one core"
    )
    run_window = (stats.started_unix, stats.started_unix + elapsed)
    problems = report_intervals(args, workers, intervals_by_worker, run_window)
    for worker in workers:
        lines = worker.error_lines()
        if lines:
            problems += 1
            print(f"hub {worker.index} logged {len(lines)} error line(s), e.g.:")
            for line, count in Counter(lines).most_common(5):
                print(f"    {count} x {line[:300]}")
    ok = errors == 0 and worst_p99 < TARGET_P99_MS and not stats.readings_rejected
    verdict = "PASS" if ok else "FAIL"
    extra = "" if problems == 0 else f" ({problems} hub problem(s) above)"
    print(
        f"target: zero errors, p99 < {TARGET_P99_MS:.0f} ms per endpoint over the whole run "
        f"and over the first minute: {verdict}{extra}"
    )
    return 0 if ok and problems == 0 else 1


def print_timeline(stats: Stats, elapsed: float) -> None:
    """p99 of the homes' requests per TIMELINE_STEP seconds of the run: a slow start (or any
    slow stretch) shows where it is."""
    steps = []
    start = 0.0
    while start < elapsed:
        window = [
            seconds
            for endpoint in stats.latencies
            if endpoint != HEALTH
            for seconds in stats.window(endpoint, start, start + TIMELINE_STEP)
        ]
        if window:
            steps.append(f"{start:.0f}s {percentile(window, 0.99) * 1000:.0f}")
        start += TIMELINE_STEP
    print(f"p99 (ms) of home requests per {TIMELINE_STEP:.0f} s: " + ", ".join(steps))


def report_intervals(
    args: argparse.Namespace,
    workers: list[Worker],
    intervals_by_worker: list[list[dict[str, Any]]],
    run_window: tuple[float, float],
) -> int:
    """Cleared intervals as each worker reports them; duplicates mean two workers cleared. An
    interval whose whole bidding window lay within the run (`run_window`, UTC seconds) must
    have a bid from (nearly) every home."""
    problems = 0
    starts = Counter(i["interval_start"] for i in intervals_by_worker[0])
    duplicates = {start for start, n in starts.items() if n > 1}
    intervals = sorted(intervals_by_worker[0], key=lambda i: i["interval_start"])
    participants = [i["participants"] for i in intervals]
    late = sum(1 for i in intervals if i.get("late"))
    print(
        f"intervals cleared        : {len(intervals)}"
        + (
            f", participants min {min(participants)} / max {max(participants)}"
            if participants
            else ""
        )
        + f", late {late}"
        + (
            f", prices {sorted({i['price'] for i in intervals if i['price'] is not None})}"
            if intervals
            else ""
        )
    )
    run_start, run_end = run_window
    full = [
        i["participants"]
        for i in intervals
        if i["interval_start"] - args.interval_seconds >= run_start
        and i["interval_start"] - args.gate_seconds - 1 <= run_end
    ]
    if full and min(full) < args.homes * 0.99:
        problems += 1
        print(f"  some full intervals lack bids: {full}")
    if duplicates:
        problems += 1
        print(f"  intervals stored more than once: {sorted(duplicates)}")
    if len(workers) > 1:
        views = [sorted(i["interval_start"] for i in view) for view in intervals_by_worker]
        if any(view != views[0] for view in views):
            problems += 1
            print("  workers disagree on the cleared intervals")
        cleared_at = Counter(i["cleared_at"] for i in intervals)
        print(
            f"  distinct clearing times per interval: "
            f"{len(cleared_at)} for {len(intervals)} intervals"
        )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (600)")
    parser.add_argument("--reading-period", type=float, default=10.0)
    parser.add_argument("--interval-seconds", type=int, default=30)
    parser.add_argument("--gate-seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=100, help="client connection pool")
    parser.add_argument("--workers", type=int, default=1, help="hub processes on one database")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--no-stagger",
        dest="stagger",
        action="store_false",
        help="start all hubs at once (on an empty PostgreSQL database they race to migrate)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep a PostgreSQL DB it created")
    parser.add_argument("--no-ledger", action="store_true", help="serve with [ledger] off")
    parser.add_argument("--enrol-parallel", type=int, default=32)
    parser.add_argument("--progress-every", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, help="keep config, database and hub logs here")
    parser.add_argument(
        "--profile-hub", type=Path, help="run each hub under cProfile, writing FILE.<worker>"
    )
    parser.add_argument(
        "--latency-log",
        type=Path,
        help="write every request as CSV (unix time sent, seconds into the load, endpoint, ms)",
    )
    args = parser.parse_args()
    if args.workers > 1 and not (args.db or "").startswith("postgresql"):
        parser.error("--workers > 1 needs --db postgresql://... (SQLite is one process)")
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        sys.exit(asyncio.run(run(args, args.work_dir)))
    with tempfile.TemporaryDirectory(prefix="gridcoop-load-") as tmp:
        sys.exit(asyncio.run(run(args, Path(tmp))))


if __name__ == "__main__":
    main()
