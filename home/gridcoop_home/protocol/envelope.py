"""Signed messages: every reading, bid and order travels inside one of these envelopes.

    {"v": 1, "type": "reading", "key_id": "...", "seq": 17, "ts": 1767225600000,
     "body": {...}, "sig": "<base64url Ed25519 over the canonical JSON of all other fields>"}

`seq` is strictly increasing per signing key (the hub rejects anything not above the last accepted
one), `ts` is UTC milliseconds since the epoch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gridcoop_home.protocol.canonical import canonical_json, digest
from gridcoop_home.protocol.errors import MALFORMED, UNSUPPORTED_VERSION, ProtocolError
from gridcoop_home.protocol.keys import SigningKey, verify

PROTOCOL_VERSION = 1
MAX_SEQ = 2**63 - 1  # sequences and timestamps are stored as 64-bit integers
MESSAGE_TYPES = frozenset({"reading", "bid", "order"})
_ENVELOPE_FIELDS = frozenset({"v", "type", "key_id", "seq", "ts", "body", "sig"})


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """One signed message. Never changed once made (its body neither): its digest is computed
    once, when first asked for."""

    type: str
    key_id: str
    seq: int
    ts: int
    body: dict[str, Any]
    sig: str
    v: int = PROTOCOL_VERSION
    _digest: str | None = field(default=None, init=False, repr=False, compare=False)

    def unsigned(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "type": self.type,
            "key_id": self.key_id,
            "seq": self.seq,
            "ts": self.ts,
            "body": self.body,
        }

    def to_wire(self) -> dict[str, Any]:
        return {**self.unsigned(), "sig": self.sig}

    @property
    def digest(self) -> str:
        """Identity of the message including its signature (what duplicates are matched on)."""
        known = self._digest
        if known is None:
            known = digest(self.to_wire())
            object.__setattr__(self, "_digest", known)  # frozen: the one field set later
        return known

    def signature_valid(self, public_key_text: str) -> bool:
        return verify(public_key_text, canonical_json(self.unsigned()), self.sig)

    def __reduce__(self) -> tuple[Callable[..., SignedMessage], tuple[object, ...]]:
        """Pickled as its fields alone: whoever unpickles a message computes its digest itself
        (and pickling skips the generic dataclass state, which costs several times more)."""
        return SignedMessage, (
            self.type,
            self.key_id,
            self.seq,
            self.ts,
            self.body,
            self.sig,
            self.v,
        )


def sign_message(
    key: SigningKey, message_type: str, body: dict[str, Any], seq: int, ts: int
) -> SignedMessage:
    unsigned = {
        "v": PROTOCOL_VERSION,
        "type": message_type,
        "key_id": key.key_id,
        "seq": seq,
        "ts": ts,
        "body": body,
    }
    return SignedMessage(
        type=message_type,
        key_id=key.key_id,
        seq=seq,
        ts=ts,
        body=body,
        sig=key.sign(canonical_json(unsigned)),
    )


def parse_signed_message(data: object, expected_type: str) -> SignedMessage:
    """Check the envelope's shape (not its signature: that needs the key from the store)."""
    if expected_type not in MESSAGE_TYPES:  # a programming error, not the sender's
        raise ValueError(f"unknown message type {expected_type!r}")
    if not isinstance(data, dict):
        raise ProtocolError(MALFORMED, "a signed message must be a JSON object")
    missing = _ENVELOPE_FIELDS - set(data)
    if missing:
        raise ProtocolError(MALFORMED, f"signed message lacks {sorted(missing)}")
    extra = set(data) - _ENVELOPE_FIELDS
    if extra:
        raise ProtocolError(MALFORMED, f"signed message has unknown fields {sorted(extra)}")
    if type(data["v"]) is not int or data["v"] != PROTOCOL_VERSION:  # not True, not 1.0
        raise ProtocolError(
            UNSUPPORTED_VERSION,
            f"protocol version {data['v']!r}, this hub speaks {PROTOCOL_VERSION}",
        )
    if data["type"] != expected_type:
        raise ProtocolError(
            MALFORMED, f"expected a {expected_type!r} message, got {data['type']!r}"
        )
    for name in ("seq", "ts"):
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
            raise ProtocolError(MALFORMED, f"{name} must be a non-negative integer below 2^63")
    for name in ("key_id", "sig"):
        if not isinstance(data[name], str) or not data[name]:
            raise ProtocolError(MALFORMED, f"{name} must be a non-empty string")
    if not isinstance(data["body"], dict):
        raise ProtocolError(MALFORMED, "body must be an object")
    canonical_json(data["body"])  # integers only, string keys
    return SignedMessage(
        type=data["type"],
        key_id=data["key_id"],
        seq=data["seq"],
        ts=data["ts"],
        body=data["body"],
        sig=data["sig"],
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class SequenceCounter:
    """Strictly increasing sequence numbers that survive restarts without being stored.

    A sequence is microseconds since the epoch, bumped by one when two calls land in the same
    microsecond, so a restarted client never reuses a number the hub has already seen.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last
