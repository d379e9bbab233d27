"""The hub in the simulation: the real Store (a SQLite file), ClearingService and LedgerService.

What runs exactly as in `python -m hub serve`: enrolment (Store.enrol), clearing of every interval
(ClearingService.clear: stored bids -> order_of -> clear_uniform_price, clear_network on a feeder,
or the continuous order books -> build_records -> derive_commands -> save_clearing -> ledger
seal), continuous orders (ContinuousMarket.submit), reading upload (signature check as in the
upload route, then Store.ingest_readings), certificate retirements
(LedgerService.submit_transaction), settlement, minting and block sealing (LedgerService.seal)
on a fake clock.

Two shortcuts, both for speed and both documented in the report:
- Periodic bids are written in one transaction per interval straight into the store's `bids`
  table (hub.store.schema), not through Store.save_bid: that takes one transaction per bid,
  about 1.6 ms each, which alone would be 15 minutes for 200 homes over 30 days.
- The store draws home ids at random; the simulator fixes them (sorted like the homes) so that a
  seed reproduces a run exactly, including the market's tie-breaks by home id.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import create_engine, insert

import hub.store.store as store_module
from hub.config import HubConfig
from hub.grid import load_feeder
from hub.ledger.service import LedgerService
from hub.ledger.settings import LedgerSettings
from hub.ledger.transactions import build_retirement
from hub.protocol.bids import BidCurves, BidStep
from hub.protocol.canonical import canonical_json
from hub.protocol.enrolment import Enrolment, MeterKey
from hub.protocol.envelope import SignedMessage, sign_message
from hub.protocol.errors import ProtocolError
from hub.protocol.orders import OrderBody
from hub.server.broadcast import Broadcaster
from hub.server.clearing import ClearingService
from hub.sim.config import SimConfig
from hub.sim.keys import sim_key
from hub.sim.population import HomeSpec
from hub.store import Store, schema
from hub.store.ledger_store import LedgerStore
from hub.store.records import AllocationRecord, HomeRecord, IntervalRecord

MAX_RETIREMENTS_PER_SESSION = 24


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


class Inbox(Broadcaster):
    """The hub's WebSocket fan-out with every home listening: keeps each allocation message."""

    def __init__(self) -> None:
        super().__init__()
        self.allocations: list[AllocationRecord] = []

    async def send_to_home(self, home_id: str, message: dict[str, Any]) -> None:
        if message.get("type") == "allocation":
            self.allocations.append(AllocationRecord(**message["allocation"]))


class TimedLedger(LedgerService):
    """The real LedgerService; only measures how long sealing takes."""

    timings: Timings

    async def seal(self, interval_start: int | None = None) -> Any:
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
        self.retired_units = 0
        self.retirements = 0
        self._tx_seq: dict[str, int] = defaultdict(int)
        self._bids_engine = create_engine(f"sqlite:///{db_path}")

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
        return hub

    async def close(self) -> None:
        self._bids_engine.dispose()
        await self.store.close()

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
            with mock.patch.object(store_module, "secrets", _FixedId(home.home_id)):
                record = await self.store.enrol(
                    Enrolment(code, home_key.public_text, meters), now_ms
                )
            self.records[record.home_id] = record

    # -- market ---------------------------------------------------------------------------------

    async def submit(self, slot_start: int, bids: Sequence[tuple[str, SignedMessage]]) -> None:
        """The homes' signed bids (periodic) or their steps as orders (continuous)."""
        started = time.perf_counter()
        gate = self.config.gate_closure_of(slot_start)
        self.clock.now = gate - 30
        if self.service.continuous is not None:
            await self._submit_orders(slot_start, bids)
        else:
            rows = [
                {
                    "home_id": home_id,
                    "interval_start": slot_start,
                    "key_id": message.key_id,
                    "seq": message.seq,
                    "ts": message.ts,
                    "body": canonical_json(message.body).decode(),
                    "digest": message.digest,
                    "sig": message.sig,
                    "received_at": int(self.clock() * 1000),
                }
                for home_id, message in bids
            ]
            with self._bids_engine.begin() as conn:
                conn.execute(insert(schema.bids), rows)
        self.timings.bids += time.perf_counter() - started

    async def _submit_orders(
        self, slot_start: int, bids: Sequence[tuple[str, SignedMessage]]
    ) -> None:
        """Each bid step becomes one signed order, homes arriving in the given order."""
        assert self.service.continuous is not None
        for home_id, message in bids:
            curves = BidCurves(
                buy=tuple(BidStep.from_wire(s, "buy") for s in message.body["buy"]),
                sell=tuple(BidStep.from_wire(s, "sell") for s in message.body["sell"]),
            )
            key = sim_key(self.seed, self.homes[home_id].index, "home")
            for side, steps in (("buy", curves.buy), ("sell", curves.sell)):
                for n, step in enumerate(steps):
                    body = OrderBody(
                        slot_start,
                        side,
                        step.price,
                        step.energy_wh,
                        step.asset,
                        f"{slot_start}-{side}{n}",
                    )
                    self._tx_seq[home_id] += 1
                    signed = sign_message(
                        key,
                        "order",
                        body.to_wire(),
                        slot_start * 1000 + self._tx_seq[home_id],
                        message.ts,
                    )
                    await self.service.continuous.submit(self.records[home_id], signed, body)

    async def clear(self, slot_start: int) -> tuple[IntervalRecord, list[AllocationRecord]]:
        self.clock.now = self.config.gate_closure_of(slot_start)
        started, sealing = time.perf_counter(), self.timings.seal
        self.inbox.allocations = []
        interval = await self.service.clear(slot_start)
        assert interval is not None, f"interval {slot_start} was cleared twice"
        allocations = self.inbox.allocations
        self.timings.clearing += time.perf_counter() - started - (self.timings.seal - sealing)
        return interval, allocations

    # -- meters ---------------------------------------------------------------------------------

    async def upload(self, now: int, batches: dict[str, list[SignedMessage]]) -> None:
        """Each home's batch as its upload route takes it: signatures, then one transaction."""
        started = time.perf_counter()
        self.clock.now = max(self.clock.now, now)
        keys = {
            key.key_id: key.public_key for record in self.records.values() for key in record.keys
        }
        for home_id, messages in batches.items():
            items: list[SignedMessage | ProtocolError] = list(messages)
            signature_ok = {
                i: m.key_id in keys and m.signature_valid(keys[m.key_id])
                for i, m in enumerate(messages)
            }
            self.readings.bad_signatures += sum(not ok for ok in signature_ok.values())
            verdicts = await self.store.ingest_readings(
                home_id, items, signature_ok, int(self.clock() * 1000), self.config.reading_window
            )
            for verdict in verdicts:
                if verdict.status == "accepted":
                    self.readings.accepted += 1
                elif verdict.status == "duplicate":
                    self.readings.duplicates += 1
                else:
                    self.readings.rejected += 1
                    self.readings.reasons[str(verdict.reason)] += 1
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
