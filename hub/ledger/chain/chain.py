"""A block with its entries, as stored and exported, and the checks that bind them together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from gridcoop_home.ledger.block import GENESIS_PREV_HASH, BlockHeader, SignedHeader
from gridcoop_home.ledger.entries import Entry, encode_entry, entry_hash
from gridcoop_home.ledger.merkle import merkle_root


@dataclass(frozen=True, slots=True)
class ChainBlock:
    signed: SignedHeader
    entries: Sequence[bytes]  # canonical JSON of each entry, in block order
    hashes: Sequence[str] | None = None  # leaf hashes as recorded (names a tampered entry)

    @property
    def header(self) -> BlockHeader:
        return self.signed.header


def root_of(raws: Sequence[bytes]) -> str:
    return merkle_root([entry_hash(raw) for raw in raws]).hex()


def make_header(
    height: int,
    prev_hash: str,
    raws: Sequence[bytes],
    time_ms: int,
    interval_start: int | None,
) -> BlockHeader:
    return BlockHeader(
        height=height,
        prev_hash=prev_hash,
        merkle_root=root_of(raws),
        time_ms=time_ms,
        entry_count=len(raws),
        interval_start=interval_start,
    )


def structure_problem(block: ChainBlock, prev_hash: str | None) -> tuple[int | None, str] | None:
    """(entry index or None, problem) when a block does not hang together, else None.

    Checks the link to the previous block, the entry count, each recorded entry hash and the
    Merkle root. Signatures and rules are checked elsewhere.
    """
    header = block.header
    expected_prev = GENESIS_PREV_HASH if prev_hash is None else prev_hash
    if header.prev_hash != expected_prev:
        return None, (
            f"prev_hash {header.prev_hash[:16]}... does not match the previous block's hash "
            f"{expected_prev[:16]}... (blocks missing, reordered or altered)"
        )
    if header.entry_count != len(block.entries):
        return None, f"header says {header.entry_count} entries, found {len(block.entries)}"
    leaves = [entry_hash(raw) for raw in block.entries]
    if block.hashes is not None:
        for index, (leaf, recorded) in enumerate(zip(leaves, block.hashes, strict=True)):
            if leaf.hex() != recorded:
                return index, "content does not match its recorded hash (entry altered)"
    root = merkle_root(leaves).hex()
    if root != header.merkle_root:
        return None, (
            f"Merkle root of the entries {root[:16]}... does not match the header's "
            f"{header.merkle_root[:16]}... (entries altered, added, removed or reordered)"
        )
    return None


def decode_entry(raw: bytes) -> Entry:
    """The entry's JSON object. orjson (3x the standard library here) reads an integer beyond
    64 bits as a float, which every rule refuses as it refuses any float."""
    value = orjson.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("an entry is a JSON object")
    return value


def encode(entry: Entry) -> tuple[bytes, str]:
    raw = encode_entry(entry)
    return raw, entry_hash(raw).hex()
