"""Run a simulation: worker processes play the homes, this process plays the hub.

Per interval: the workers' signed bids go to the hub, which clears the interval; the allocations
and dispatch commands go back to the workers, which play out the interval (world C) and bid for
the next one. Meanwhile the hub seals the interval's ledger block, takes in the meter readings of
the homes whose upload is due (each home uploads every `reading_batch_slots`, at its own phase)
and the certificate retirements. Worlds A and B run in the workers' idle time.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gridcoop_home.protocol.envelope import SignedMessage

from hub.sim.agents import FIELDS
from hub.sim.calendar import Calendar
from hub.sim.config import SLOTS_PER_DAY, SimConfig
from hub.sim.hub_side import SimHub, Timings
from hub.sim.population import HomeSpec, draw_population
from hub.sim.worker import Delivery, StepReply, worker_main

RETIRE_DELAY_SLOTS = 4  # after the session's readings are in, so its purchases are settled


SHM = Path("/dev/shm")
DB_BYTES_PER_HOME_DAY = 1_000_000  # measured: 1.9 GB for 200 homes x 30 days; with a margin
YOUNG_GC_THRESHOLD = 20_000  # allocations between collections of the youngest generation


def scratch_dir(config: SimConfig) -> str | None:
    """Where a database that is thrown away at the end goes: memory-backed storage when the
    machine has room there (its commits then need no disk flush, which by the end of a month
    cost up to 50 ms a block on the development machine's disk), else the usual temp folder."""
    try:
        free = shutil.disk_usage(SHM).free
    except OSError:
        return None
    needed = 2 * DB_BYTES_PER_HOME_DAY * config.homes * config.days
    return str(SHM) if free > needed and os.access(SHM, os.W_OK) else None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector in the hub process while the intervals run: what the hub
    holds once it has started (modules, enrolled homes, the ledger) is frozen out of full
    collections, as `serve` does (hub.server.app), and the youngest generation is collected
    every YOUNG_GC_THRESHOLD allocations (by default every 2,000 on Python 3.14). Measured
    over 2 days: 7.5 ms of collections an interval down to about 1 ms. Everything is put back
    at the end, since a simulation may run inside another program (the tests)."""
    thresholds = gc.get_threshold()
    gc.collect()  # garbage frozen now would never be collected
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def upload_phase(index: int, config: SimConfig) -> int:
    """The interval of each `reading_batch_slots` in which home `index` uploads its readings."""
    return index % config.reading_batch_slots


@dataclass(frozen=True, slots=True)
class IntervalRow:
    start: int
    price: int | None
    volume_wh: int
    retail: int
    feed_in: int
    grid_import_wh: int  # what the market left to the grid (allocations)
    grid_export_wh: int
    paid_mminor: int
    received_mminor: int
    fees_mminor: int
    participants: int


@dataclass(slots=True)
class LedgerSummary:
    balances_mminor: dict[str, int]
    minted: int
    burned: int
    green_minted: int
    retired: int
    retirements: int
    flex_tokens: int
    settled_intervals: int
    blocks: int
    token_unit_wh: int


@dataclass(slots=True)
class SimResult:
    config: SimConfig
    calendar: Calendar
    homes: list[HomeSpec]
    tracks: dict[str, np.ndarray]  # world -> (homes, FIELDS, slots) Wh
    intervals: list[IntervalRow]
    market_mminor: dict[str, int]  # home -> received - paid in the market (allocations)
    local_bought_wh: dict[str, int]
    local_sold_wh: dict[str, int]
    ledger: LedgerSummary
    readings: dict[str, int]
    bids: dict[str, int]  # "stored", and refusals by reason code
    timings: dict[str, float]
    plans: int
    db_path: Path | None
    extra: dict[str, Any] = field(default_factory=dict)

    def world(self, name: str, what: str) -> np.ndarray:
        """One flow for every home and slot, e.g. world("C", "import_wh")."""
        return self.tracks[name][:, FIELDS.index(what), :]


class _Workers:
    def __init__(self, config: SimConfig, homes: list[HomeSpec]) -> None:
        context = multiprocessing.get_context("spawn")
        count = min(config.workers, len(homes))
        self.parts = [homes[w::count] for w in range(count)]
        self.conns = []
        self.processes = []
        for part in self.parts:
            mine, theirs = context.Pipe()
            process = context.Process(target=worker_main, args=(theirs, config, part), daemon=True)
            process.start()
            self.conns.append(mine)
            self.processes.append(process)
        for conn in self.conns:
            if conn.recv() != "ready":
                raise RuntimeError("a simulation worker failed to start")
        self.owner = {home.index: w for w, part in enumerate(self.parts) for home in part}
        self.cpu: dict[str, float] = defaultdict(float)  # CPU seconds of all workers, by part

    def send_step(
        self,
        delivered: int | None,
        deliveries: dict[int, Delivery],
        bid_slot: int | None,
        prices: list[Any],
    ) -> None:
        split: list[dict[int, Delivery]] = [{} for _ in self.conns]
        for index, delivery in deliveries.items():
            split[self.owner[index]][index] = delivery
        for conn, part in zip(self.conns, split, strict=True):
            conn.send(("step", delivered, part, bid_slot, prices))

    def replies(self) -> list[StepReply]:
        return [conn.recv() for conn in self.conns]

    def results(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for conn in self.conns:
            conn.send(("results",))
        for conn in self.conns:
            homes, cpu = conn.recv()
            out.update(homes)
            for part, seconds in cpu.items():
                self.cpu[part] += seconds
        return out

    def close(self) -> None:
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


async def simulate(config: SimConfig, progress: Callable[[str], None] | None = None) -> SimResult:
    say = progress or (lambda _line: None)
    homes = draw_population(config)
    calendar = Calendar.of(config)
    started, cpu_started = time.perf_counter(), time.process_time()
    with ExitStack() as stack:
        folder = config.data_dir
        if folder is None:
            scratch = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="gridcoop-sim-", dir=scratch_dir(config))
            )
            folder = Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        workers = _Workers(config, homes)
        stack.callback(workers.close)
        hub = await SimHub.open(config, homes, folder, calendar.start_of(0))
        try:
            say(
                f"{len(homes)} homes enrolled, workers ready after "
                f"{time.perf_counter() - started:.1f} s; the hub's database: {hub.db_path}"
            )
            run = _Run(config, calendar, homes, hub, workers, say)
            with fewer_collections():
                await run.all_intervals()
            results = workers.results()
            summary = _ledger_summary(hub)
        finally:
            await hub.close()
        timings = _timings(hub.timings, run, workers.cpu, time.perf_counter() - started)
        timings["hub_cpu"] = time.process_time() - cpu_started
        timings["checks_cpu"] = hub.checker_cpu
        tracks = {
            world: np.stack([results[home.index][world] for home in homes])
            for world in ("A", "B", "C")
        }
        return SimResult(
            config=config,
            calendar=calendar,
            homes=homes,
            tracks=tracks,
            intervals=run.rows,
            market_mminor=dict(run.market),
            local_bought_wh=dict(run.bought),
            local_sold_wh=dict(run.sold),
            ledger=summary,
            readings={
                "accepted": hub.readings.accepted,
                "rejected": hub.readings.rejected,
                "duplicates": hub.readings.duplicates,
                "bad_signatures": hub.readings.bad_signatures,
            },
            bids={"stored": hub.bids.stored, **hub.bids.refused},
            timings=timings,
            plans=sum(int(results[home.index]["plans"]) for home in homes),
            db_path=hub.db_path if config.data_dir is not None else None,
        )


class _Run:
    def __init__(
        self,
        config: SimConfig,
        calendar: Calendar,
        homes: list[HomeSpec],
        hub: SimHub,
        workers: _Workers,
        say: Callable[[str], None],
    ) -> None:
        self.config, self.calendar, self.homes, self.hub = config, calendar, homes, hub
        self.workers, self.say = workers, say
        self.rows: list[IntervalRow] = []
        self.market: dict[str, int] = defaultdict(int)
        self.bought: dict[str, int] = defaultdict(int)
        self.sold: dict[str, int] = defaultdict(int)
        self.pending: dict[str, list[SignedMessage]] = defaultdict(list)
        self.retire_queue: list[tuple[int, str, int]] = []  # (due slot, home, Wh)
        self.arrival = np.random.default_rng([config.seed, 4])
        # Homes upload every `reading_batch_slots` intervals, each at its own phase.
        self._uploading: list[list[str]] = [[] for _ in range(config.reading_batch_slots)]
        for home in homes:
            self._uploading[upload_phase(home.index, config)].append(home.home_id)
        self.home_wait = 0.0
        self.started = time.perf_counter()
        self._day_start: tuple[float, dict[str, float]] = (self.started, {})

    async def all_intervals(self) -> None:
        slots = self.calendar.slots
        self.workers.send_step(None, {}, 0, [])
        for slot in range(slots):
            replies = self._collect()
            bids = sorted((index, bid) for reply in replies for index, bid in reply.bids)
            if self.config.mode == "continuous":
                order = self.arrival.permutation(len(bids))
                bids = [bids[i] for i in order]
            start = self.calendar.start_of(slot)
            if slot == 0:
                await self._upload(start - 30)  # every meter's starting registers
            await self.hub.submit(start, [(self.homes[i].home_id, bid) for i, bid in bids])
            interval, allocations = await self.hub.clear(start)
            deliveries = self._record(interval, allocations)
            effective = interval.price
            if effective is None:
                busy = interval.grid_import_wh >= interval.grid_export_wh
                effective = interval.retail_price if busy else interval.feed_in_price
            sample = (self.calendar.time_of(slot), float(effective))
            nxt = slot + 1 if slot + 1 < slots else None
            self.workers.send_step(slot, deliveries, nxt, [sample])
            # The homes now play out this interval and bid for the next, while the hub seals the
            # interval's block and takes the uploads that are due (signatures checked meanwhile).
            uploads = self._due(self._uploading[slot % self.config.reading_batch_slots])
            verified = self.hub.verify_uploads(uploads) if uploads else None
            await self.hub.seal_held()
            if uploads:
                await self.hub.upload(start + 1, uploads, verified)
            await self._retire(slot)
            if (slot + 1) % SLOTS_PER_DAY == 0:
                self._day_done((slot + 1) // SLOTS_PER_DAY)
        self._collect()
        end = self.calendar.start_of(slots)
        await self._upload(end + 1)
        await self.hub.finish(end)

    def _day_done(self, day: int) -> None:
        """The progress line: time so far, and where this day's time went (ms per interval)."""
        now = time.perf_counter()
        t = self.hub.timings
        parts = {
            "bids": t.bids,
            "clearing": t.clearing,
            "seal": t.seal,
            "readings": t.readings,
            "homes": self.home_wait,
        }
        day_ms = {
            k: 1000 * (v - self._day_start[1].get(k, 0.0)) / SLOTS_PER_DAY for k, v in parts.items()
        }
        total_ms = 1000 * (now - self._day_start[0]) / SLOTS_PER_DAY
        self._day_start = (now, parts)
        self.say(
            f"day {day}/{self.config.days} simulated, {now - self.started:.0f} s; "
            f"{total_ms:.0f} ms per interval: "
            + ", ".join(f"{name} {ms:.0f}" for name, ms in day_ms.items())
        )

    def _collect(self) -> list[StepReply]:
        waited = time.perf_counter()
        replies = self.workers.replies()
        self.home_wait += time.perf_counter() - waited
        for reply in replies:
            for index, messages in reply.readings:
                self.pending[self.homes[index].home_id].extend(messages)
            for index, energy in reply.ev_sessions:
                due = self._slot_now() + self.config.reading_batch_slots + RETIRE_DELAY_SLOTS
                self.retire_queue.append((due, self.homes[index].home_id, energy))
        return replies

    def _slot_now(self) -> int:
        return len(self.rows)

    def _record(self, interval: Any, allocations: list[Any]) -> dict[int, Delivery]:
        self.rows.append(
            IntervalRow(
                start=interval.interval_start,
                price=interval.price,
                volume_wh=interval.volume_wh,
                retail=interval.retail_price,
                feed_in=interval.feed_in_price,
                grid_import_wh=interval.grid_import_wh,
                grid_export_wh=interval.grid_export_wh,
                paid_mminor=sum(a.paid_mminor for a in allocations),
                received_mminor=sum(a.received_mminor for a in allocations),
                fees_mminor=interval.fees_mminor,
                participants=interval.participants,
            )
        )
        by_id = {home.home_id: home.index for home in self.homes}
        deliveries = {}
        for a in allocations:
            self.market[a.home_id] += a.received_mminor - a.paid_mminor
            self.bought[a.home_id] += a.bought_local_wh
            self.sold[a.home_id] += a.sold_local_wh
            net = a.bought_local_wh + a.bought_grid_wh - a.sold_local_wh - a.sold_grid_wh
            dispatch = [(d.device, d.action, d.energy_wh) for d in a.dispatch]
            deliveries[by_id[a.home_id]] = Delivery(net, dispatch)
        return deliveries

    def _due(self, homes: Sequence[str] | None = None) -> dict[str, list[SignedMessage]]:
        """Take the pending readings of `homes` (default: every home's)."""
        due = list(self.pending) if homes is None else [h for h in homes if h in self.pending]
        return {home_id: self.pending.pop(home_id) for home_id in due}

    async def _upload(self, now: int) -> None:
        """Every home uploads what it has."""
        uploads = self._due()
        if uploads:
            await self.hub.upload(now, uploads)

    async def _retire(self, slot: int) -> None:
        due = [item for item in self.retire_queue if item[0] <= slot]
        self.retire_queue = [item for item in self.retire_queue if item[0] > slot]
        for _due, home_id, energy in due:
            await self.hub.retire_for_ev(home_id, energy, int(self.hub.clock() * 1000))


def _ledger_summary(hub: SimHub) -> LedgerSummary:
    state = hub.ledger.state
    return LedgerSummary(
        balances_mminor=dict(state.balances),
        minted=sum(state.minted.values()),
        burned=sum(state.burned.values()),
        green_minted=sum(lot.minted for lot in state.lots.values() if lot.green),
        retired=sum(state.retired.values()),
        retirements=hub.retirements,
        flex_tokens=sum(v for k, v in state.flex.items()),
        settled_intervals=len(state.settled),
        blocks=hub.ledger.head.header.height + 1,
        token_unit_wh=hub.ledger.params.token_unit_wh,
    )


def _timings(hub: Timings, run: _Run, cpu: dict[str, float], total: float) -> dict[str, float]:
    return {
        "total": total,
        "homes": run.home_wait,  # waiting for the workers: planning, bidding, physics, signing
        "bids": hub.bids,
        "clearing": hub.clearing,
        "seal": hub.seal,
        "readings": hub.readings,
        "retirements": hub.retirements,
        "homes_cpu_c": cpu["step"],  # CPU seconds in the workers: world C in lockstep
        "homes_cpu_ab": cpu["background"],  # worlds A and B, in the workers' idle time
        "hub_cpu": 0.0,  # this process (hub and its threads), CPU seconds: set by the caller
        "checks_cpu": 0.0,  # the hub's signature checks in their helper processes: likewise
    }
