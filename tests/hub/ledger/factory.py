"""Build real chains in memory: genesis, homes with real keys, signed readings, clearings,
settlements and home transactions, sealed into blocks signed by real BLS keys.

The builder applies every entry to its own LedgerState first (exactly what the hub does), so
whatever it produces is a chain the hub could have written; tests then tamper with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridcoop_home.ledger.block import GENESIS_PREV_HASH, SignedHeader, signing_message
from gridcoop_home.ledger.bls import BlsBackend, generate_secret_key, get_backend
from gridcoop_home.ledger.entries import (
    CLEARING,
    ENROL,
    GENESIS,
    METER_READINGS,
    READING_FIELDS,
    READINGS,
    VALIDATOR,
    Entry,
)
from gridcoop_home.ledger.transactions import build_retirement, build_transfer
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.readings import Registers, sign_reading

from hub.ledger.accounts.params import LedgerParams
from hub.ledger.accounts.recording import allocation_table
from hub.ledger.accounts.state import LedgerState
from hub.ledger.chain.chain import ChainBlock, encode, make_header

INTERVAL = 900
T0 = 1_800_000_000  # an interval start, UTC seconds


def seeded_key(name: str) -> SigningKey:
    """The same Ed25519 key for the same name in every run: a chain built twice is the same chain
    (hashes and signatures included), so snapshots of it are stable."""
    seed = hashlib.sha256(f"gridcoop test key: {name}".encode()).digest()
    return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))


@dataclass
class Home:
    home_id: str
    key: SigningKey
    meters: dict[str, SigningKey]  # kind -> key
    seq: int = 0
    registers: dict[str, list[int]] = field(default_factory=dict)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


class ChainBuilder:
    """Entry format 1 unless `entry_format=2` is given: most tamper tests edit format 1's
    per-home entries by hand; tests/hub/ledger/test_format_2.py covers the table format."""

    def __init__(
        self,
        backend: BlsBackend | None = None,
        threshold: int = 1,
        witnesses: int = 0,
        key_salt: str = "",
        **params: Any,
    ) -> None:
        self.backend = backend or get_backend()
        # Homes get the same keys in every run (stable snapshots); another salt, other keys.
        self.key_salt = key_salt
        self.hub_secret = generate_secret_key(b"hub-key-seed-for-tests-0000000000")
        self.witness_secrets = [
            generate_secret_key(f"witness-{i}-seed-for-tests-000000000".encode())
            for i in range(witnesses)
        ]
        self.state = LedgerState(self.backend)
        self.blocks: list[ChainBlock] = []
        self.pending: list[Entry] = []
        self.homes: dict[str, Home] = {}
        params.setdefault("entry_format", 1)
        self.params = LedgerParams(chain_id="test-chain", threshold=threshold, **params)
        self.add(
            {
                "kind": GENESIS,
                "params": self.params.to_wire(),
                "validator": self._validator_wire("hub", self.hub_secret),
            }
        )
        self.seal(None)
        for n, secret in enumerate(self.witness_secrets):
            self.add(
                {
                    **self._validator_wire(f"witness {n}", secret),
                    "kind": VALIDATOR,
                    "index": n + 1,
                    "home_id": None,
                    "active_from": self.height + 1,
                }
            )
        if witnesses:
            self.seal(None)

    def _validator_wire(self, name: str, secret: int) -> dict[str, Any]:
        return {
            "name": name,
            "public_key": self.backend.secret_to_public(secret).hex(),
            "pop": self.backend.prove_possession(secret).hex(),
        }

    @property
    def height(self) -> int:
        """The height of the block being assembled."""
        return len(self.blocks)

    def add(self, entry: Entry) -> Entry:
        self.state.height = self.height
        self.state.apply(entry, f"block {self.height} entry {len(self.pending)}")
        self.pending.append(entry)
        return entry

    def seal(self, interval_start: int | None, signers: Sequence[int] | None = None) -> ChainBlock:
        raws = [encode(entry)[0] for entry in self.pending]
        prev = self.blocks[-1].header.hash if self.blocks else GENESIS_PREV_HASH
        header = make_header(self.height, prev, raws, T0 * 1000 + self.height, interval_start)
        secrets = [self.hub_secret, *self.witness_secrets]
        chosen = [0] if signers is None else list(signers)
        message = signing_message(header.hash)
        signature = self.backend.aggregate([self.backend.sign(secrets[i], message) for i in chosen])
        block = ChainBlock(
            SignedHeader(header, sum(1 << i for i in chosen), signature),
            raws,
            [encode(entry)[1] for entry in self.pending],
        )
        self.blocks.append(block)
        self.pending = []
        self.state.height = self.height
        return block

    # -- homes and what they do ---------------------------------------------------------------

    def enrol(self, home_id: str, kinds: Sequence[str] = ("grid",)) -> Home:
        home = Home(
            home_id,
            seeded_key(f"{self.key_salt}home {home_id}"),
            {kind: seeded_key(f"{self.key_salt}meter {home_id} {kind}") for kind in kinds},
        )
        self.homes[home_id] = home
        keys = [
            {
                "key_id": home.key.key_id,
                "kind": "home",
                "name": "home",
                "public_key": home.key.public_text,
            }
        ]
        keys += [
            {"key_id": key.key_id, "kind": kind, "name": kind, "public_key": key.public_text}
            for kind, key in home.meters.items()
        ]
        self.add(
            {
                "kind": ENROL,
                "home_id": home_id,
                "bus": None,
                "keys": sorted(keys, key=lambda k: k["key_id"]),
            }
        )
        return home

    def readings(self, home_id: str, ts_s: int, **registers: tuple[int, int]) -> Entry:
        """Signed readings at `ts_s` for meters by kind: grid=(import_wh, export_wh), ..."""
        home = self.homes[home_id]
        rows = []
        for kind, (import_wh, export_wh) in registers.items():
            key = home.meters[kind]
            message = sign_reading(
                key, Registers(import_wh, export_wh), home.next_seq(), ts_s * 1000
            )
            rows.append([key.key_id, message.seq, message.ts, import_wh, export_wh, message.sig])
        if self.params.entry_format == 2:
            table = {"kind": METER_READINGS, "fields": list(READING_FIELDS), "rows": sorted(rows)}
            return self.add(table)
        return self.add({"kind": READINGS, "home_id": home_id, "readings": sorted(rows)})

    def clearing(
        self,
        interval_start: int,
        allocations: Sequence[dict[str, Any]],
        retail: int = 30,
        feed_in: int = 8,
    ) -> Entry:
        allocs = []
        for spec in sorted(allocations, key=lambda a: a["home_id"]):
            home = self.homes[spec["home_id"]]
            allocs.append(
                {
                    "home_id": spec["home_id"],
                    "bought_local_wh": spec.get("bought_local_wh", 0),
                    "sold_local_wh": spec.get("sold_local_wh", 0),
                    "bought_grid_wh": spec.get("bought_grid_wh", 0),
                    "sold_grid_wh": spec.get("sold_grid_wh", 0),
                    "paid_mminor": spec.get("paid_mminor", 0),
                    "received_mminor": spec.get("received_mminor", 0),
                    "fees_mminor": 0,
                    "bid_key_id": home.key.key_id,
                    "bid_seq": home.next_seq(),
                    "bid_digest": "ab" * 32,
                    "priority": 0,
                    "dispatch": spec.get("dispatch", []),
                }
            )
        volume = sum(a["bought_local_wh"] for a in allocs)
        return self.add(
            {
                "kind": CLEARING,
                "interval_start": interval_start,
                "interval_end": interval_start + INTERVAL,
                "price": 20 if volume else None,
                "volume_wh": volume,
                "retail_price": retail,
                "feed_in_price": feed_in,
                "fee_per_kwh": 0,
                "k_percent": 50,
                "allocations": allocation_table(allocs)
                if self.params.entry_format == 2
                else allocs,
            }
        )

    def settle(self, interval_start: int) -> list[Entry]:
        batch = self.state.settlement_batch(interval_start)
        for entry in batch:
            self.add(entry)
        return batch

    def transfer(self, home_id: str, **kwargs: Any) -> Entry:
        home = self.homes[home_id]
        return self.add(
            build_transfer(home.key, home_id, seq=home.next_seq(), ts=T0 * 1000, **kwargs)
        )

    def retire(self, home_id: str, lot: str, units: int, purpose: str = "EV charging") -> Entry:
        home = self.homes[home_id]
        return self.add(
            build_retirement(
                home.key,
                home_id,
                lot=lot,
                units=units,
                purpose=purpose,
                seq=home.next_seq(),
                ts=T0 * 1000,
            )
        )


def trade_chain(backend: BlsBackend | None = None, **kwargs: Any) -> ChainBuilder:
    """Two homes, one PV seller and one buyer, one traded and settled interval:

    block 1: enrolments and readings at T0; block 2: the clearing of [T0, T0+900) and readings at
    its end; block 3: its settlement (settlement x2, a green mint to the seller, a burn by the
    buyer) and a retirement of 2 of the buyer's green certificates.
    """
    chain = ChainBuilder(backend, **kwargs)
    chain.enrol("seller", ("grid", "pv"))
    chain.enrol("buyer", ("grid",))
    chain.readings("seller", T0, grid=(0, 0), pv=(0, 0))
    chain.readings("buyer", T0, grid=(0, 0))
    chain.seal(None)
    chain.clearing(
        T0,
        [
            {"home_id": "seller", "sold_local_wh": 600, "received_mminor": 12_000},
            {"home_id": "buyer", "bought_local_wh": 600, "paid_mminor": 12_000},
        ],
    )
    chain.readings("seller", T0 + INTERVAL, grid=(0, 600), pv=(0, 700))
    chain.readings("buyer", T0 + INTERVAL, grid=(650, 0))
    chain.seal(T0)
    chain.settle(T0)
    lot = chain.state.certificates["buyer"]
    chain.retire("buyer", next(iter(lot)), 2, "EV charging session 2026-05-01 18:00-20:00, 7.4 kWh")
    chain.seal(T0 + INTERVAL)
    return chain


def replace_entry(block: ChainBlock, index: int, raw: bytes) -> ChainBlock:
    entries = list(block.entries)
    entries[index] = raw
    return dataclasses.replace(block, entries=entries)
