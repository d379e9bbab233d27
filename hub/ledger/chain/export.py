"""The export format `python -m hub verify --export FILE` reads (JSON lines).

    {"format": "gridcoop-ledger-v1"}
    {"block": {height, prev_hash, merkle_root, time_ms, entry_count, interval_start, hash,
               signers: [...], signature}}
    <leaf hash hex> <canonical entry JSON>      (entry_count lines)
    {"block": ...}
    ...

Entries are written as the exact bytes that were hashed, one per line (canonical JSON never
contains a raw newline), each after its recorded hash, so a verifier names an altered entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from gridcoop_home.ledger.block import SignedHeader

from hub.ledger.chain.chain import ChainBlock

FORMAT = "gridcoop-ledger-v1"


class ExportError(ValueError):
    """The file is not a ledger export (or is cut short)."""


def write_block(out: IO[bytes], block: ChainBlock) -> None:
    out.write(json.dumps({"block": block.signed.to_wire()}, sort_keys=True).encode() + b"\n")
    hashes = block.hashes
    for index, raw in enumerate(block.entries):
        recorded = hashes[index] if hashes is not None else ""
        out.write(recorded.encode() + b" " + raw + b"\n")


def write_export(path: Path, blocks: Iterable[ChainBlock]) -> int:
    count = 0
    with path.open("wb") as out:
        out.write(json.dumps({"format": FORMAT}).encode() + b"\n")
        for block in blocks:
            write_block(out, block)
            count += 1
    return count


def read_export(path: Path) -> Iterator[ChainBlock]:
    with path.open("rb", buffering=1 << 20) as lines:
        first = lines.readline()
        try:
            if json.loads(first).get("format") != FORMAT:
                raise ExportError(f"{path}: not a {FORMAT} export")
        except (ValueError, AttributeError) as err:
            raise ExportError(f"{path}: not a {FORMAT} export") from err
        while True:
            line = lines.readline()
            if not line:
                return
            try:
                signed = SignedHeader.from_wire(json.loads(line)["block"])
            except (ValueError, KeyError, TypeError) as err:
                raise ExportError(f"{path}: expected a block line, got {line[:60]!r}") from err
            raws, hashes = [], []
            for _ in range(signed.header.entry_count):
                entry_line = lines.readline()
                if not entry_line:
                    break  # cut short: the block's structure check reports the missing entries
                recorded, _, raw = entry_line.rstrip(b"\n").partition(b" ")
                hashes.append(recorded.decode())
                raws.append(raw)
            yield ChainBlock(signed, raws, hashes)
