"""Block headers, their hashes and the message validators sign.

A header commits to its height, the previous block's hash, the Merkle root of its entries, the
sealing time, the entry count and the market interval it seals. The block hash covers the header
only, never the signatures: witnesses co-sign after sealing, so signatures accumulate without
changing any hash. Validators sign `BLOCK_DOMAIN + block hash`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.canonical import canonical_json

BLOCK_DOMAIN = b"gridcoop-block-v1:"
GENESIS_PREV_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class BlockHeader:
    height: int
    prev_hash: str
    merkle_root: str
    time_ms: int
    entry_count: int
    interval_start: int | None  # the market interval this block seals (None for genesis)

    def to_wire(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "prev_hash": self.prev_hash,
            "merkle_root": self.merkle_root,
            "time_ms": self.time_ms,
            "entry_count": self.entry_count,
            "interval_start": self.interval_start,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> BlockHeader:
        return cls(
            height=int(data["height"]),
            prev_hash=str(data["prev_hash"]),
            merkle_root=str(data["merkle_root"]),
            time_ms=int(data["time_ms"]),
            entry_count=int(data["entry_count"]),
            interval_start=None if data["interval_start"] is None else int(data["interval_start"]),
        )

    @property
    def hash(self) -> str:
        return hashlib.sha256(BLOCK_DOMAIN + canonical_json(self.to_wire())).hexdigest()


def signing_message(block_hash: str) -> bytes:
    return BLOCK_DOMAIN + bytes.fromhex(block_hash)


def signer_indexes(bitmap: int) -> list[int]:
    """Validator indexes whose bit is set (bit i = validator i signed)."""
    return [i for i in range(bitmap.bit_length()) if bitmap >> i & 1]


@dataclass(frozen=True, slots=True)
class SignedHeader:
    """A header with the signers bitmap and their aggregate signature (None: nobody signed)."""

    header: BlockHeader
    signers: int
    signature: bytes | None

    @property
    def signer_count(self) -> int:
        return self.signers.bit_count()

    def to_wire(self) -> dict[str, Any]:
        return {
            **self.header.to_wire(),
            "hash": self.header.hash,
            "signers": signer_indexes(self.signers),
            "signature": self.signature.hex() if self.signature else None,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> SignedHeader:
        bitmap = 0
        for index in data.get("signers", []):
            bitmap |= 1 << int(index)
        signature = data.get("signature")
        return cls(
            BlockHeader.from_wire(data), bitmap, bytes.fromhex(signature) if signature else None
        )
