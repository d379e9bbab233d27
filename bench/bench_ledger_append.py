"""Ledger append speed into SQLite: the hub's path for a block of a 200-home interval.

For each block the bench encodes every entry (canonical JSON + leaf hash) and stores the block
with `LedgerStore.seal` (entries in one batched insert, guard rows for mints, settlements and
certificate holdings, the block and its signature, all in one transaction). Entries come from
the audit bench's simulated neighbourhood (signed readings, clearing, settlements, mints, burns),
once in entry format 1 (one entry per home: the target's unit) and once in format 2 (tables).
Target: at least 20,000 entries/s in format 1.

    .venv/bin/python bench/bench_ledger_append.py [--blocks 40] [--homes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_ledger_audit import Neighbourhood
from gridcoop_home.ledger import bls

from hub.ledger.chain.chain import ChainBlock, encode
from hub.ledger.service.sealer import block_row
from hub.store import Store
from hub.store.ledger_store import LedgerStore

TARGET = 20_000


async def run(blocks: list[ChainBlock]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{Path(tmp) / 'ledger.db'}")
        ledger = LedgerStore(store)
        parsed = [[json.loads(raw) for raw in block.entries] for block in blocks]
        entries = 0
        started = time.perf_counter()
        for block, items in zip(blocks, parsed, strict=True):
            rows = []
            for entry in items:
                raw, hash_ = encode(entry)
                rows.append((entry, raw.decode(), hash_))
            signature = block.signed.signature.hex() if block.signed.signature else ""
            await ledger.seal(block_row(block.signed, 1), [], rows, signature, {"cursor": "0"})
            entries += len(rows)
        seconds = time.perf_counter() - started
        await store.close()
    return seconds, entries


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--homes", type=int, default=200)
    args = parser.parse_args()
    format_1_entries = 0
    for entry_format in (1, 2):
        hood = Neighbourhood(args.homes, bls.get_backend(), entry_format)  # same seed, same data
        blocks = hood.genesis() + [hood.block(k) for k in range(args.blocks)]
        seconds, entries = asyncio.run(run(blocks))
        if entry_format == 1:
            format_1_entries, rate = entries, entries / seconds
        print(
            f"format {entry_format}: appended {entries} entries in {len(blocks)} blocks into "
            f"SQLite in {seconds:.2f} s: {entries / seconds:,.0f} entries/s, what "
            f"{format_1_entries / seconds:,.0f} format-1 entries/s hold "
            f"({seconds / len(blocks) * 1000:.1f} ms per block)"
        )
    print(
        f"{'PASS' if rate >= TARGET else 'FAIL'}: {rate:,.0f} entries/s in format 1, one entry "
        f"per home (target {TARGET:,})"
    )
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
