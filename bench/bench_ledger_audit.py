"""Audit speed: a simulated 200-home neighbourhood, one block per 15-minute interval.

Each block holds what the hub records for such a neighbourhood: one signed-readings entry per
home (grid meter, plus a PV meter for 40% of homes), the interval's clearing with 200 allocations,
and the previous interval's settlement (200 settlements, mints, burns). The bench generates
`--days` of it (default 7 = 672 blocks) into an export file, audits it with the native BLS
backend (batched aggregate verification) and projects the time to one year (35,040 blocks).
It also times py-ecc alone on a few blocks and prints the py-ecc-only projection.

The audit is what `python -m hub verify --export FILE` runs: the seals (hashes, Merkle roots,
BLS) in a child process while this process replays the rules; the one-process audit is timed
too, as the baseline. Two audit depths are measured: the full audit (meter Ed25519 signatures
re-verified, ~80 us each) and the audit that trusts meter signatures (checked at ingest and by
every witness).
Target: one year in at most 60 s with the native backend.

    .venv/bin/python bench/bench_ledger_audit.py [--days 7] [--homes 200] [--entry-format 2]
        [--skip-full] [--chain FILE [--generate-only]]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from gridcoop_home.ledger import bls
from gridcoop_home.ledger.block import GENESIS_PREV_HASH, SignedHeader, signing_message
from gridcoop_home.ledger.entries import READING_FIELDS
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.readings import Registers, sign_reading

from hub.ledger.accounts.params import LedgerParams
from hub.ledger.accounts.recording import allocation_table
from hub.ledger.accounts.settlement import split
from hub.ledger.accounts.state import LedgerState
from hub.ledger.chain.audit import Auditor, audit_export
from hub.ledger.chain.chain import ChainBlock, encode, make_header
from hub.ledger.chain.export import FORMAT, read_export, write_block

YEAR_BLOCKS = 35_040
TARGET_S = 60.0
T0 = 1_800_000_000
INTERVAL = 900


class Neighbourhood:
    def __init__(self, homes: int, backend: bls.BlsBackend, entry_format: int = 2) -> None:
        self.backend = backend
        self.entry_format = entry_format
        self.secret = bls.generate_secret_key(b"bench hub key seed 0000000000000")
        self.state = LedgerState(backend, check_meter_signatures=False)
        self.rng = random.Random(7)
        self.homes = [f"home{n:03d}" for n in range(homes)]
        self.pv = {h for n, h in enumerate(self.homes) if n % 5 < 2}
        self.keys = {h: SigningKey.generate() for h in self.homes}
        self.meters = {(h, "grid"): SigningKey.generate() for h in self.homes}
        self.meters |= {(h, "pv"): SigningKey.generate() for h in self.pv}
        self.registers = {meter: [0, 0] for meter in self.meters}
        self.seq = 0
        self.prev = GENESIS_PREV_HASH
        self.height = 0

    def seal(self, entries: list[dict[str, object]], interval: int | None) -> ChainBlock:
        raws, hashes = [], []
        for n, entry in enumerate(entries):
            self.state.apply(entry, f"block {self.height} entry {n}")
            raw, hash_ = encode(entry)
            raws.append(raw)
            hashes.append(hash_)
        header = make_header(self.height, self.prev, raws, T0 * 1000, interval)
        signature = self.backend.sign(self.secret, signing_message(header.hash))
        self.prev = header.hash
        self.height += 1
        self.state.height = self.height
        return ChainBlock(SignedHeader(header, 1, signature), raws, hashes)

    def genesis(self) -> list[ChainBlock]:
        params = LedgerParams(chain_id="bench", entry_format=self.entry_format)
        validator = {
            "name": "hub",
            "public_key": self.backend.secret_to_public(self.secret).hex(),
            "pop": self.backend.prove_possession(self.secret).hex(),
        }
        first = self.seal(
            [{"kind": "genesis", "params": params.to_wire(), "validator": validator}], None
        )
        enrolments = []
        for home in self.homes:
            keys = [
                {
                    "key_id": self.keys[home].key_id,
                    "kind": "home",
                    "name": "home",
                    "public_key": self.keys[home].public_text,
                }
            ]
            keys += [
                {"key_id": key.key_id, "kind": kind, "name": kind, "public_key": key.public_text}
                for (owner, kind), key in self.meters.items()
                if owner == home
            ]
            enrolments.append(
                {
                    "kind": "enrol",
                    "home_id": home,
                    "bus": None,
                    "keys": sorted(keys, key=lambda k: k["key_id"]),
                }
            )
        return [first, self.seal(enrolments, None)]

    def readings(self, ts: int) -> list[dict[str, object]]:
        entries = []
        by_home: list[list[list[object]]] = []
        for home in self.homes:
            rows = []
            for kind in ("grid", "pv"):
                key = self.meters.get((home, kind))
                if key is None:
                    continue
                self.seq += 1
                imp, exp = self.registers[(home, kind)]
                message = sign_reading(key, Registers(imp, exp), self.seq, ts * 1000)
                rows.append([key.key_id, self.seq, ts * 1000, imp, exp, message.sig])
            entries.append({"kind": "readings", "home_id": home, "readings": sorted(rows)})
            by_home.append(rows)
        if self.entry_format == 2:
            table = sorted(row for rows in by_home for row in rows)
            return [{"kind": "meter_readings", "fields": list(READING_FIELDS), "rows": table}]
        return entries

    def interval(self, start: int) -> dict[str, object]:
        """Clear [start, start + 900) and move every register to its end."""
        hour = (start // 3600) % 24
        sun = max(0.0, 1 - abs(hour - 13) / 6)
        exports = {h: int(600 * sun * self.rng.uniform(0.7, 1.0)) for h in self.pv}
        demand = {h: self.rng.randint(80, 250) for h in self.homes if h not in self.pv}
        local = min(sum(exports.values()), sum(demand.values()))
        sold = split(local, sorted(exports.items()))
        bought = split(local, sorted(demand.items()))
        allocations = []
        for home in self.homes:
            s, b = sold.get(home, 0), bought.get(home, 0)
            sg = exports.get(home, 0) - s
            bg = demand.get(home, 0) - b
            allocations.append(
                {
                    "home_id": home,
                    "bought_local_wh": b,
                    "sold_local_wh": s,
                    "bought_grid_wh": bg,
                    "sold_grid_wh": sg,
                    "paid_mminor": b * 20 + bg * 30,
                    "received_mminor": s * 20 + sg * 8,
                    "fees_mminor": 0,
                    "bid_key_id": self.keys[home].key_id,
                    "bid_seq": 1,
                    "bid_digest": "ab" * 32,
                    "priority": 0,
                    "dispatch": [],
                }
            )
            took = demand.get(home, 0) + self.rng.randint(-20, 20)
            self.registers[(home, "grid")][0] += max(took, 0)
            self.registers[(home, "grid")][1] += exports.get(home, 0)
            if home in self.pv:
                self.registers[(home, "pv")][1] += exports[home] + self.rng.randint(0, 30)
        return {
            "kind": "clearing",
            "interval_start": start,
            "interval_end": start + INTERVAL,
            "price": 20 if local else None,
            "volume_wh": local,
            "retail_price": 30,
            "feed_in_price": 8,
            "fee_per_kwh": 0,
            "k_percent": 50,
            "allocations": allocation_table(allocations) if self.entry_format == 2 else allocations,
        }

    def block(self, k: int) -> ChainBlock:
        """Readings at the start of interval k, its clearing and the settlement of interval k-1."""
        start = T0 + k * INTERVAL
        entries = self.readings(start)
        for entry in entries:
            self.state.apply(entry)
        batch = (
            self.state.settlement_batch(start - INTERVAL)
            if (start - INTERVAL) in self.state.clearings
            else []
        )
        for entry in batch:
            self.state.apply(entry)
        clearing = self.interval(start)
        self.state.apply(clearing)
        return self._seal_applied([*entries, *batch, clearing], start)

    def _seal_applied(self, entries: list[dict[str, object]], interval: int) -> ChainBlock:
        raws, hashes = zip(*(encode(e) for e in entries), strict=True)
        header = make_header(self.height, self.prev, list(raws), T0 * 1000, interval)
        signature = self.backend.sign(self.secret, signing_message(header.hash))
        self.prev = header.hash
        self.height += 1
        self.state.height = self.height
        return ChainBlock(SignedHeader(header, 1, signature), list(raws), list(hashes))


def generate(
    path: Path, homes: int, blocks: int, backend: bls.BlsBackend, entry_format: int = 2
) -> tuple[int, int]:
    hood = Neighbourhood(homes, backend, entry_format)
    entries = 0
    with path.open("wb") as out:
        out.write(b'{"format": "' + FORMAT.encode() + b'"}\n')
        for block in hood.genesis():
            write_block(out, block)
        for k in range(blocks):
            block = hood.block(k)
            entries += block.header.entry_count
            write_block(out, block)
    return blocks + 2, entries


def timed_audit(
    path: Path, backend: bls.BlsBackend, meter_signatures: bool, limit: int | None = None
) -> tuple[float, int, str]:
    auditor = Auditor(backend, meter_signatures)
    started = time.perf_counter()
    for n, block in enumerate(read_export(path)):
        if limit is not None and n >= limit:
            break
        if not auditor.feed(block):
            break
    report = auditor.finish()
    return time.perf_counter() - started, report.blocks, report.message


def timed_export_audit(
    path: Path, backend: bls.BlsBackend, meter_signatures: bool
) -> tuple[float, int, str]:
    """What `python -m hub verify --export` runs: seals in a child process, rules here."""
    started = time.perf_counter()
    report = audit_export(path, backend, meter_signatures)
    return time.perf_counter() - started, report.blocks, report.message


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--homes", type=int, default=200)
    parser.add_argument(
        "--entry-format", type=int, default=2, choices=(1, 2), help="1: one entry per home"
    )
    parser.add_argument(
        "--skip-full", action="store_true", help="skip the audit that re-checks meter signatures"
    )
    parser.add_argument(
        "--chain", type=Path, help="keep the generated chain here; audit it as is if it exists"
    )
    parser.add_argument("--generate-only", action="store_true", help="with --chain: no audit")
    args = parser.parse_args()
    native_name = bls.available_backends()[0]
    native = bls.get_backend(native_name)
    blocks = int(args.days * 96)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.chain or Path(tmp) / "chain.jsonl"
        if args.chain is None or not path.exists():
            started = time.perf_counter()
            total_blocks, entries = generate(path, args.homes, blocks, native, args.entry_format)
            print(
                f"generated {total_blocks} blocks, {entries} entries, "
                f"{path.stat().st_size / 1e6:.0f} MB ({args.homes} homes, {args.days:g} days) "
                f"in {time.perf_counter() - started:.1f} s"
            )
        else:
            print(f"auditing {path} as it is ({path.stat().st_size / 1e6:.0f} MB)")
        if args.generate_only:
            return 0
        results = {}
        runs = [
            ("one process (baseline)", False, timed_audit),
            ("full (meter signatures too)", True, timed_export_audit),
            ("trusting meter signatures", False, timed_export_audit),
        ]
        for label, meter_signatures, how in [runs[0], runs[2]] if args.skip_full else runs:
            seconds, audited, message = how(path, native, meter_signatures)
            assert message.startswith("OK"), message
            year = seconds / audited * YEAR_BLOCKS
            results[label] = year
            print(
                f"audit {label:<28} [{native_name}]: {seconds:6.2f} s for {audited} blocks "
                f"= {seconds / audited * 1000:6.2f} ms/block -> one year {year:7.1f} s"
            )
        sample = 6
        seconds, audited, _ = timed_audit(path, bls.get_backend("py_ecc"), False, limit=sample + 2)
        per_block = seconds / audited
        print(
            f"py-ecc only: {per_block * 1000:.0f} ms/block on {audited} blocks -> one year "
            f"{per_block * YEAR_BLOCKS / 3600:.1f} h (projection)"
        )
    fast = results["trusting meter signatures"]
    print(
        f"{'PASS' if fast <= TARGET_S else 'FAIL'}: one simulated year audited in {fast:.1f} s "
        f"(target {TARGET_S:.0f} s, native {native_name}, meter signatures trusted)"
    )
    if args.skip_full:
        return 0 if fast <= TARGET_S else 1
    full = results["full (meter signatures too)"]
    print(
        f"{'PASS' if full <= TARGET_S else 'FAIL'}: every meter signature re-verified: {full:.1f} s"
    )
    return 0 if fast <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
