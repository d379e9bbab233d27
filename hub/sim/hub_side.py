"""The hub in the simulation: the real Store (a SQLite file), ClearingService and LedgerService.

What runs exactly as in `python -m hub serve`: enrolment (Store.enrol); bids through the bid
route's intake (hub.service.bids.take_bid: signed by the home key, signature, parse_bid, gate
still open, Store.save_bid; all homes' bids arrive together just before the gate closes);
clearing of every interval (ClearingService.clear: stored bids -> order_of -> clear_uniform_price,
clear_network on a feeder, or the continuous order books -> build_records -> derive_commands ->
save_clearing -> ledger seal); continuous orders through the order route's intake
(hub.service.bids.take_order -> ContinuousMarket.submit); reading uploads through the upload
route's ingest (hub.service.readings.ingest -> Store.ingest_readings); certificate retirements
(LedgerService.submit_transaction); settlement, minting and block sealing (LedgerService.seal);
all on a simulated clock. The simulated homes hand over signed messages as objects, so what the
routes do before the intake (the request signature, JSON, the envelope's parse) is left out.

Three liberties, none of which changes what is stored:
- Order, not content: ClearingService seals the interval's ledger block before it announces the
  allocations. Here the announcement goes first, so the homes start on their next interval while
  the hub seals; the seal follows at once, with the clock still at the gate closure and before
  anything else reaches the hub, so it is the block the hub would have sealed. (A seal that
  fails stops the simulation; the server would log it and go on.)
- Where, not what: the routes check signatures in this process or its worker threads, which
  share the hub's GIL; here two helper processes make the same check
  (SignedMessage.signature_valid with the enrolled key) and hand the intake their verdicts
  (hub.service.signatures.prechecked), so that the checks of one interval's uploads run beside
  the seal without slowing it.
- The store draws home ids at random; the simulator fixes them (sorted like the homes) so that a
  seed reproduces a run exactly, including the market's tie-breaks by home id.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

from gridcoop_home.ledger.transactions import build_retirement
from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.bids import BidStep
from gridcoop_home.protocol.enrolment import Enrolment, MeterKey
from gridcoop_home.protocol.envelope import SignedMessage, sign_message
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.orders import OrderBody

import hub.store.homes as homes_module
from hub.config import HubConfig
from hub.grid import load_feeder
from hub.ledger.service.sealer import LedgerService
from hub.ledger.service.settings import LedgerSettings
from hub.service.bids import take_bid, take_order
from hub.service.clearing import ClearingService
from hub.service.readings import ingest
from hub.service.signatures import prechecked
from hub.sim.config import SimConfig
from hub.sim.keys import sim_key
from hub.sim.population import HomeSpec
from hub.store import Store
from hub.store.ledger_store import LedgerStore
from hub.store.records import HomeRecord, IntervalRecord, KeyIdentity

MAX_RETIREMENTS_PER_SESSION = 24


_KEYS: dict[str, str] = {}  # in a checker process: key id -> public key of every enrolled key


def _checker_start(keys: dict[str, str]) -> None:
    _KEYS.update(keys)


def _check(batches: list[list[SignedMessage]]) -> tuple[list[list[bool]], float]:
    """In a checker process: whether each message's signature verifies with its enrolled key
    (what the routes check); and the CPU seconds it took."""
    started = time.process_time()
    verdicts = [
        [m.key_id in _KEYS and m.signature_valid(_KEYS[m.key_id]) for m in batch]
        for batch in batches
    ]
    return verdicts, time.process_time() - started


def _orders_of(slot_start: int, bid: SignedMessage) -> list[dict[str, Any]]:
    """A bid's steps as order bodies, buy steps first."""
    bodies = []
    for side in ("buy", "sell"):
        for n, wire in enumerate(bid.body[side]):
            step = BidStep.from_wire(wire, side)
            order = OrderBody(
                slot_start, side, step.price, step.energy_wh, step.asset, f"{slot_start}-{side}{n}"
            )
            bodies.append(order.to_wire())
    return bodies


class SimClock:
    """The hub's clock, moved by the simulation (UTC seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _FixedId:
    def __init__(self, home_id: str) -> None:
        self.home_id = home_id

    def token_hex(self, _nbytes: int | None = None) -> str:
        return self.home_id


@dataclass(slots=True)
class Timings:
    """Seconds spent on the hub's side, summed over the run."""

    bids: float = 0.0
    clearing: float = 0.0  # ClearingService.clear without the ledger seal inside it
    seal: float = 0.0
    readings: float = 0.0  # signature checks and Store.ingest_readings
    retirements: float = 0.0


class Inbox:
    """The hub's publisher with every home listening: keeps each allocation message."""

    def __init__(self) -> None:
        self.allocations: list[Allocation] = []

    async def publish(self, message: dict[str, Any]) -> None:
        """Public market news: the simulated homes do not need it."""

    async def send_to_home(self, home_id: str, message: dict[str, Any]) -> None:
        if message.get("type") == "allocation":
            self.allocations.append(Allocation.from_wire(message["allocation"]))


class TimedLedger(LedgerService):
    """The real LedgerService; measures how long sealing takes and can hold a seal back until
    the simulation has sent the interval's allocations to the homes (see the module doc)."""

    timings: Timings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hold_seals = False
        self.held: list[tuple[int | None, float]] = []  # (interval, clock when it was due)

    async def seal(self, interval_start: int | None = None) -> Any:
        if self.hold_seals:
            self.held.append((interval_start, self._clock()))
            return None  # ClearingService does not look at the block it seals
        started = time.perf_counter()
        try:
            return await super().seal(interval_start)
        finally:
            self.timings.seal += time.perf_counter() - started


@dataclass(slots=True)
class ReadingCounts:
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    bad_signatures: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(slots=True)
class BidCounts:
    stored: int = 0
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class SimHub:
    def __init__(
        self,
        config: HubConfig,
        store: Store,
        ledger: TimedLedger,
        clock: SimClock,
        db_path: Path,
        homes: Sequence[HomeSpec],
        seed: int,
    ) -> None:
        self.config = config
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.db_path = db_path
        self.homes = {home.home_id: home for home in homes}
        self.seed = seed
        self.timings = Timings()
        ledger.timings = self.timings
        self.inbox = Inbox()
        self.service = ClearingService(config, store, self.inbox, clock, ledger)
        self.records: dict[str, HomeRecord] = {}
        self.readings = ReadingCounts()
        self.bids = BidCounts()
        self.retired_units = 0
        self.retirements = 0
        self._tx_seq: dict[str, int] = defaultdict(int)
        self._home_keys: dict[str, KeyIdentity] = {}  # home id -> its home key
        self._public_keys: dict[str, str] = {}  # key id -> public key, every enrolled key
        self._checker: ProcessPoolExecutor | None = None  # started once the homes are enrolled
        self.checker_cpu = 0.0  # CPU seconds of the signature checks

    @classmethod
    async def open(cls, sim: SimConfig, homes: Sequence[HomeSpec], folder: Path, t0: int) -> SimHub:
        ledger_settings = LedgerSettings(
            enabled=True,
            key_file=str(folder / "hub-ledger.key"),
            # Readings arrive in batches: settle an interval once they are all in.
            settlement_deadline_seconds=sim.reading_batch_slots * 900 + 3600,
            readings_per_block=1_000_000,
        )
        network = replace(sim.hub.network, market_mode=sim.mode)
        if sim.feeder is not None:
            network = replace(network, feeder=load_feeder(sim.feeder), feeder_file=str(sim.feeder))
        config = replace(
            sim.hub,
            ledger=ledger_settings,
            network=network,
            reading_max_age_ms=max(sim.hub.reading_max_age_ms, 2 * 86_400_000),
        )
        db_path = folder / "hub.db"
        clock = SimClock(t0 - 3600)
        store = await Store.open(f"sqlite:///{db_path}")
        ledger = TimedLedger(LedgerStore(store), ledger_settings, clock=clock)
        hub = cls(config, store, ledger, clock, db_path, homes, sim.seed)
        await hub._enrol(homes)
        await ledger.start()
        # Signature checks: two helper processes (see the module doc).
        hub._checker = ProcessPoolExecutor(
            2,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_checker_start,
            initargs=(hub._public_keys,),
        )
        return hub

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.shutdown()
        await self.store.close()

    async def _signatures_valid(self, batches: list[list[SignedMessage]]) -> list[list[bool]]:
        """Check the batches' signatures in the two checker processes, half each."""
        assert self._checker is not None
        loop = asyncio.get_running_loop()
        halves = [batches[0::2], batches[1::2]]
        done = await asyncio.gather(
            *(loop.run_in_executor(self._checker, _check, half) for half in halves if half)
        )
        self.checker_cpu += sum(cpu for _verdicts, cpu in done)
        results = [verdicts for verdicts, _cpu in done]
        return [results[n % 2][n // 2] for n in range(len(batches))]

    # -- enrolment ----------------------------------------------------------------------------

    async def _enrol(self, homes: Sequence[HomeSpec]) -> None:
        feeder = self.config.network.feeder
        buses = [b for b in feeder.bus_ids if b != feeder.transformer.bus] if feeder else []
        now_ms = int(self.clock() * 1000)
        for home in homes:
            bus = buses[home.index % len(buses)] if buses else None
            code = await self.store.create_join_code(
                f"Home {home.index + 1}", bus, now_ms, 3600_000
            )
            meters = tuple(
                MeterKey(kind, kind, sim_key(self.seed, home.index, kind).public_text)
                for kind in home.meter_kinds
            )
            home_key = sim_key(self.seed, home.index, "home")
            with mock.patch.object(homes_module, "secrets", _FixedId(home.home_id)):
                record = await self.store.enrol(
                    Enrolment(code, home_key.public_text, meters), now_ms
                )
            self.records[record.home_id] = record
            self._home_keys[record.home_id] = next(
                KeyIdentity(key.key_id, key.home_id, key.kind, key.public_key)
                for key in record.keys
                if key.kind == "home"
            )
            self._public_keys.update((key.key_id, key.public_key) for key in record.keys)

    # -- market ---------------------------------------------------------------------------------

    async def submit(self, slot_start: int, bids: Sequence[tuple[str, SignedMessage]]) -> None:
        """The homes' signed bids (periodic) or their steps as orders (continuous)."""
        started = time.perf_counter()
        gate = self.config.gate_closure_of(slot_start)
        self.clock.now = gate - 30
        if self.service.continuous is not None:
            await self._submit_orders(slot_start, bids)
        else:
            await self._submit_bids(bids)
        self.timings.bids += time.perf_counter() - started

    async def _submit_bids(self, bids: Sequence[tuple[str, SignedMessage]]) -> None:
        """Each bid through the bid route's intake (hub.service.bids.take_bid), its signature
        checked in the helper processes; every home's at once (the store commits concurrent
        writes together). A refused bid is counted, and its home sits the interval out, as it
        would with a real hub."""
        verdicts = await self._signatures_valid([[message] for _home_id, message in bids])
        now = self.clock()
        outcomes = await asyncio.gather(
            *(
                take_bid(
                    self.store,
                    self.config,
                    self._home_keys[home_id],
                    message,
                    now,
                    signatures=prechecked({0: verdict[0]}),
                )
                for verdict, (home_id, message) in zip(verdicts, bids, strict=True)
            ),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, ProtocolError):
                self.bids.refused[outcome.reason] += 1
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                self.bids.stored += 1

    async def _submit_orders(
        self, slot_start: int, bids: Sequence[tuple[str, SignedMessage]]
    ) -> None:
        """Each bid step becomes one signed order, homes arriving in the given order; each goes
        through the order route's intake (hub.service.bids.take_order), its signature checked
        beforehand in the helper processes."""
        market = self.service.continuous
        assert market is not None
        orders: list[tuple[str, SignedMessage]] = []
        for home_id, message in bids:
            key = sim_key(self.seed, self.homes[home_id].index, "home")
            for body in _orders_of(slot_start, message):
                self._tx_seq[home_id] += 1
                seq = slot_start * 1000 + self._tx_seq[home_id]
                orders.append((home_id, sign_message(key, "order", body, seq, message.ts)))
        verdicts = await self._signatures_valid([[signed] for _home_id, signed in orders])
        for verdict, (home_id, signed) in zip(verdicts, orders, strict=True):
            await take_order(
                self.store,
                self.config,
                market,
                self.records[home_id],
                self._home_keys[home_id].key_id,
                signed,
                signatures=prechecked({0: verdict[0]}),
            )

    async def clear(self, slot_start: int) -> tuple[IntervalRecord, list[Allocation]]:
        """Clear the interval; its ledger block waits for `seal_held` (see the module doc)."""
        self.clock.now = self.config.gate_closure_of(slot_start)
        started = time.perf_counter()
        self.inbox.allocations = []
        self.ledger.hold_seals = True
        try:
            interval = await self.service.clear(slot_start)
        finally:
            self.ledger.hold_seals = False
        assert interval is not None, f"interval {slot_start} was cleared twice"
        allocations = self.inbox.allocations
        self.timings.clearing += time.perf_counter() - started
        return interval, allocations

    async def seal_held(self) -> None:
        """Seal the blocks ClearingService asked for, each at the time it asked."""
        held, self.ledger.held = self.ledger.held, []
        for interval_start, now in held:
            self.clock.now = now
            await self.ledger.seal(interval_start)

    # -- meters ---------------------------------------------------------------------------------

    def verify_uploads(
        self, batches: dict[str, list[SignedMessage]]
    ) -> asyncio.Task[dict[str, dict[int, bool]]]:
        """Check the signatures of the homes' uploads (as the upload route does) and start at
        once, so that the checks run while the hub seals."""

        async def verify() -> dict[str, dict[int, bool]]:
            verdicts = await self._signatures_valid(list(batches.values()))
            return {
                home_id: dict(enumerate(verdict))
                for home_id, verdict in zip(batches, verdicts, strict=True)
            }

        return asyncio.ensure_future(verify())

    async def upload(
        self,
        now: int,
        batches: dict[str, list[SignedMessage]],
        verified: asyncio.Task[dict[str, dict[int, bool]]] | None = None,
    ) -> None:
        """The homes' uploads through the upload route's ingest (hub.service.readings.ingest),
        their signatures checked beforehand (see verify_uploads); all homes' concurrently, as
        requests are."""
        started = time.perf_counter()
        self.clock.now = max(self.clock.now, now)
        now_ms = int(self.clock() * 1000)
        checked = await (verified if verified is not None else self.verify_uploads(batches))

        async def one(home_id: str, messages: list[SignedMessage]) -> None:
            signature_ok = checked[home_id]
            self.readings.bad_signatures += sum(not ok for ok in signature_ok.values())
            result = await ingest(
                self.store,
                self.config,
                home_id,
                messages,
                now_ms,
                signatures=prechecked(signature_ok),
            )
            for verdict in result.verdicts:
                if verdict.status == "accepted":
                    self.readings.accepted += 1
                elif verdict.status == "duplicate":
                    self.readings.duplicates += 1
                else:
                    self.readings.rejected += 1
                    self.readings.reasons[str(verdict.reason)] += 1

        await asyncio.gather(*(one(home_id, batch) for home_id, batch in batches.items()))
        self.timings.readings += time.perf_counter() - started

    # -- certificates ---------------------------------------------------------------------------

    async def retire_for_ev(self, home_id: str, energy_wh: int, ts_ms: int) -> int:
        """Retire green certificates the home holds for an EV session's energy (as the home would,
        signing with its home key); returns the units retired."""
        started = time.perf_counter()
        state = self.ledger.state
        wanted = math.ceil(energy_wh / self.ledger.params.token_unit_wh)
        held = state.certificates.get(home_id, {})
        green = sorted(
            (lot, units) for lot, units in held.items() if units and state.lots[lot].green
        )
        key = sim_key(self.seed, self.homes[home_id].index, "home")
        retired = 0
        for lot, units in green[:MAX_RETIREMENTS_PER_SESSION]:
            if retired >= wanted:
                break
            take = min(units, wanted - retired)
            self._tx_seq[home_id] += 1
            entry = build_retirement(
                key,
                home_id,
                lot=lot,
                units=take,
                purpose=f"EV charging, {energy_wh} Wh",
                seq=ts_ms * 1000 + self._tx_seq[home_id],
                ts=ts_ms,
            )
            await self.ledger.submit_transaction(entry, home_id)
            retired += take
            self.retirements += 1
        self.retired_units += retired
        self.timings.retirements += time.perf_counter() - started
        return retired

    async def finish(self, end: int) -> None:
        """After the last interval: let the settlement deadline pass and seal what is left."""
        self.clock.now = end + self.ledger.settings.settlement_deadline_seconds + 60
        await self.ledger.seal(None)
