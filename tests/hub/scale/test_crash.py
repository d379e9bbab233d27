"""Crash safety: hub processes are killed with SIGKILL at random moments while homes upload
readings and bid, intervals clear and blocks are sealed, then restarted. Afterwards:

- no acknowledged reading is lost: every reading the client got `accepted` (or `duplicate`) for
  is in the store, and the ledger has recorded each exactly once;
- nothing is duplicated: no (meter, seq) twice in the chain, no interval's clearing twice;
- every interval was cleared exactly once (one row, one `clearing` entry);
- `python -m hub verify` recomputes every hash, Merkle root, signature and balance: OK.

SQLite runs one process (the supported mode), PostgreSQL two workers (either is killed).
Kills per backend: GRIDCOOP_CRASH_KILLS (default 6, so 12 in all, about 80 s); the long form
(100 per backend, 200 kills, about 15 minutes):

    GRIDCOOP_CRASH_KILLS=100 .venv/bin/python -m pytest tests/hub/scale/test_crash.py -s

The random choices (which worker dies, when, and the load's jitter) come from one seed, drawn
fresh for each run and printed at its start (pytest shows it with a failure). Repeat a run's
kill moments with GRIDCOOP_CRASH_SEED=<seed>; the interleaving with the load's requests still
depends on timing, so a repeat aims the kills at the same moments, not at the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable, Meter
from gridcoop_home.ledger.entries import reading_rows
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.keys import SigningKey
from sqlalchemy import select

from hub.store import Store, schema
from hub.store.ledger_store import LedgerStore
from tests.hub.scale.support import Processes, Worker, run_hub, wait_until, write_config
from tests.hub.server.support import curves

KILLS = int(os.environ.get("GRIDCOOP_CRASH_KILLS", "6"))
SEED_VARIABLE = "GRIDCOOP_CRASH_SEED"
CODE = re.compile(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})")
HOMES = 4
# What a crash looks like to a client: no answer, or 5xx while the process comes back.
FAILURES = (aiohttp.ClientError, OSError, HubUnreachable, TimeoutError, HubError)
TIMEOUT = aiohttp.ClientTimeout(total=5)


def crash_seed() -> int:
    """GRIDCOOP_CRASH_SEED when set (an integer), else a fresh one."""
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return random.SystemRandom().randrange(2**32)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{SEED_VARIABLE} must be an integer, got {text!r}") from None


@dataclass
class House:
    key: SigningKey
    meter: Meter
    register: int = 0
    unsent: list[SignedMessage] = field(default_factory=list)  # not acknowledged yet
    acknowledged: set[str] = field(default_factory=set)  # digests

    def client(self, session: aiohttp.ClientSession, worker: Worker) -> HubClient:
        return HubClient(session, worker.url, home_key=self.key, timeout=TIMEOUT)


async def enrol_houses(session: aiohttp.ClientSession, worker: Worker, db: str) -> list[House]:
    houses = []
    for n in range(HOMES):
        invite = run_hub("invite", f"House {n}", "--db", db)
        code = CODE.search(invite.stdout)
        assert code is not None, invite.stdout + invite.stderr
        house = House(SigningKey.generate(), Meter("grid", "grid", SigningKey.generate()))
        await HubClient(session, worker.url).enrol(code.group(1), house.key, [house.meter])
        houses.append(house)
    return houses


async def upload_forever(
    session: aiohttp.ClientSession, house: House, workers: list[Worker], rng: random.Random
) -> None:
    """New readings every few tens of ms; what was not acknowledged is sent again as is."""
    while True:
        for _ in range(rng.randint(1, 4)):
            house.register += rng.randint(1, 30)
            house.unsent.append(house.meter.reading(house.register, 0))
        live = [w for w in workers if w.alive] or workers
        batch = list(house.unsent)
        try:
            answer = await house.client(session, rng.choice(live)).upload_readings(batch)
        except FAILURES:
            await asyncio.sleep(0.1)
            continue
        for item, result in zip(batch, answer["results"], strict=True):
            assert result["status"] in ("accepted", "duplicate"), result
            house.acknowledged.add(item.digest)
        house.unsent = house.unsent[len(batch) :]
        await asyncio.sleep(rng.uniform(0.01, 0.08))


async def bid_forever(
    session: aiohttp.ClientSession, houses: list[House], workers: list[Worker], rng: random.Random
) -> None:
    """Half the homes sell, half buy, for every interval: clearings with trades to settle."""
    while True:
        live = [w for w in workers if w.alive] or workers
        worker = rng.choice(live)
        try:
            interval = (await HubClient(session, worker.url, timeout=TIMEOUT).info())[
                "next_open_interval_start"
            ]
            for n, house in enumerate(houses):
                bid = (
                    curves(sell=[(10 + n, 300, "battery")])
                    if n % 2
                    else curves(buy=[(30 - n, 300, "base")])
                )
                await house.client(session, worker).submit_bid(interval, bid)
        except FAILURES:
            pass
        await asyncio.sleep(0.5)


async def kill_and_restart(
    session: aiohttp.ClientSession, workers: list[Worker], kills: int, rng: random.Random
) -> None:
    """SIGKILL a random worker at a random moment after it answers, restart it; `kills` times."""
    for _ in range(kills):
        victim = rng.choice(workers)
        with contextlib.suppress(AssertionError):  # killed while starting is a crash too
            await wait_until(lambda w=victim: HubClient(session, w.url).health(), 15)
        await asyncio.sleep(rng.uniform(0.0, 2.5))
        victim.kill()
        victim.start()


async def check_the_database(db: str, houses: list[House]) -> None:
    store = await Store.open(db)
    try:
        async with store._read() as conn:
            stored = {
                row.digest: row.recorded_height
                for row in await conn.execute(
                    select(schema.readings.c.digest, schema.readings.c.recorded_height)
                )
            }
            cleared = [
                int(row.interval_start)
                for row in await conn.execute(select(schema.intervals.c.interval_start))
            ]
        acknowledged = set().union(*(house.acknowledged for house in houses))
        assert acknowledged, "the load reached the hub"
        assert not acknowledged - stored.keys(), "an acknowledged reading was lost"
        assert None not in stored.values(), "every stored reading was recorded by a block"
        readings, clearings = [], []
        async for _block, entries in LedgerStore(store).iter_chain():
            for _hash, data in entries:
                entry = json.loads(data)
                readings += [(r[0], r[1]) for r in reading_rows(entry)]
                if entry["kind"] == "clearing":
                    clearings.append(entry["interval_start"])
        assert len(readings) == len(set(readings)) == len(stored), "each reading recorded once"
        assert len(clearings) == len(set(clearings)), "no interval's clearing recorded twice"
        assert sorted(clearings) == sorted(cleared), "every cleared interval is in the ledger"
        assert len(cleared) >= 3
    finally:
        await store.close()


async def crash_run(db: str, tmp_path: Path, processes: Processes, worker_count: int) -> None:
    seed = crash_seed()
    print(f"crash seed {seed}: repeat with {SEED_VARIABLE}={seed}")
    rng = random.Random(seed)
    config = write_config(tmp_path / "hub.toml", interval=2, gate=1)
    workers = [
        processes.worker(db, config, tmp_path / f"worker{n}.log") for n in range(worker_count)
    ]
    async with aiohttp.ClientSession() as session:
        workers[0].start()
        await wait_until(lambda: HubClient(session, workers[0].url).health(), 30)
        for worker in workers[1:]:
            worker.start()
        houses = await enrol_houses(session, workers[0], db)
        # Each task its own stream, so the kills' draws do not depend on how often the load ran.
        streams = [random.Random(rng.randrange(2**32)) for _ in range(len(houses) + 2)]
        load = [
            asyncio.create_task(upload_forever(session, h, workers, streams[n]))
            for n, h in enumerate(houses)
        ]
        load.append(asyncio.create_task(bid_forever(session, houses, workers, streams[-2])))
        try:
            await kill_and_restart(session, workers, KILLS, streams[-1])
            for worker in workers:  # everyone back up, the load acknowledged once more
                await wait_until(lambda w=worker: HubClient(session, w.url).health(), 30)
            await asyncio.sleep(2)
        finally:
            for task in load:
                task.cancel()
            await asyncio.gather(*load, return_exceptions=True)
        await asyncio.sleep(5)  # two more intervals: the last readings get sealed
    for worker in workers:
        assert worker.process is not None
        worker.process.terminate()
        worker.process.wait(timeout=15)
    verify = run_hub("verify", "--db", db)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    await check_the_database(db, houses)
    print(f"{KILLS} kills (seed {seed}); {verify.stdout.strip().splitlines()[0]}")


async def test_a_single_sqlite_process_killed_at_random_loses_and_repeats_nothing(
    tmp_path: Path, processes: Processes
) -> None:
    await crash_run(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, processes, worker_count=1)


@pytest.mark.postgres
async def test_two_postgresql_workers_killed_at_random_lose_and_repeat_nothing(
    pg_url: str, tmp_path: Path, processes: Processes
) -> None:
    await crash_run(pg_url, tmp_path, processes, worker_count=2)


def test_the_seed_comes_from_the_environment_or_is_drawn_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SEED_VARIABLE, "20261207")
    assert crash_seed() == 20261207
    monkeypatch.setenv(SEED_VARIABLE, "tuesday")
    with pytest.raises(ValueError, match="GRIDCOOP_CRASH_SEED must be an integer"):
        crash_seed()
    monkeypatch.delenv(SEED_VARIABLE)
    assert 0 <= crash_seed() < 2**32
