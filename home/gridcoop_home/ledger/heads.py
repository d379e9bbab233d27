"""Signed heads and equivocation proofs: what a witness or a home keeps of the chain it has seen.

A **signed head** is a block header with the signatures it carried when its holder checked it
(the hub's; a witness adds its own once it co-signs), the chain it belongs to (chain id and
genesis hash, where the holder knows them) and who saw it. Anyone holding the chain's validator
keys can check it; `python -m hub verify --heads` fails when a database's chain differs from one.
Wire form (one JSON object, one per line in a heads file):

    {"format": "gridcoop-signed-head-v1", "chain_id": ..., "genesis_hash": ..., "source": ...,
     "block": {height, prev_hash, merkle_root, time_ms, entry_count, interval_start, hash,
               signers: [...], signature}}

A bare block object (an item of `GET /api/v1/ledger/blocks`) reads as a head of unknown chain.

Two headers at one height with different hashes, each carrying a signature of the hub
(validator 0) that verifies, are an **equivocation proof**: the hub signed two histories. No
honest hub ever does (it signs a block once, after which the block is stored and served), so a
proof is evidence against the hub that anyone can check with the validators' public keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gridcoop_home.ledger.block import SignedHeader, signer_indexes, signing_message
from gridcoop_home.ledger.bls import BlsBackend, get_backend

HEAD_FORMAT = "gridcoop-signed-head-v1"
EQUIVOCATION_FORMAT = "gridcoop-equivocation-v1"
HUB = 0  # the hub is always validator 0
MAX_SIGNER_INDEX = 4095  # far beyond any neighbourhood; keeps a hostile bitmap small
MAX_INT = 2**53
MAX_TEXT = 200
HASH_HEX = 64
HEX_DIGITS = frozenset("0123456789abcdef")
# What a signed header's wire form always holds (SignedHeader.to_wire writes every one).
REQUIRED_HEADER_FIELDS = (
    "height",
    "prev_hash",
    "merkle_root",
    "time_ms",
    "entry_count",
    "interval_start",
    "hash",
    "signers",
    "signature",
)


class StatedHashMismatch(ValueError):
    """A header states a `hash` that is not the hash of its fields (well formed, but false)."""


def header_from_wire(data: object) -> SignedHeader:
    """A signed header from its wire form, strictly: ValueError unless every field is there with
    its type and range (64-hex hashes, integers below 2^53); StatedHashMismatch (a ValueError)
    when the `hash` it states is not the hash of its header. Headers others hand in (heads,
    proofs, a hub's block list) are read with this."""
    if not isinstance(data, Mapping):
        raise ValueError("a block header is a JSON object")
    missing = [name for name in REQUIRED_HEADER_FIELDS if name not in data]
    if missing:
        raise ValueError(f"a signed header needs {missing} too")
    for name in ("height", "time_ms", "entry_count"):
        _check_int(data, name)
    if data["interval_start"] is not None:
        _check_int(data, "interval_start")
    for name in ("prev_hash", "merkle_root", "hash"):
        if not _is_hex(data.get(name), HASH_HEX):
            raise ValueError(f"{name} must be {HASH_HEX} lower-case hex digits")
    signature = data.get("signature")
    if signature is not None and not _is_hex(signature, None):
        raise ValueError("signature must be hex or null")
    signers = data["signers"]
    if not isinstance(signers, list) or not all(
        type(i) is int and 0 <= i <= MAX_SIGNER_INDEX for i in signers
    ):
        raise ValueError(f"signers must be a list of validator indexes 0-{MAX_SIGNER_INDEX}")
    try:
        signed = SignedHeader.from_wire(dict(data))
    except (KeyError, TypeError, ValueError) as err:  # checked above; kept as the last guard
        raise ValueError(f"not a block header: {err!r}") from err
    if data["hash"] != signed.header.hash:
        raise StatedHashMismatch(
            f"block {signed.header.height}: the stated hash is not the header's"
        )
    return signed


def _check_int(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if type(value) is not int or not 0 <= value < MAX_INT:
        raise ValueError(f"{name} must be an integer within 0-2^53")


def _text(value: object, name: str, nullable: bool = True) -> str | None:
    """A short label (chain id, genesis hash, reporter, source): printable UTF-8 text."""
    if value is None and nullable:
        return None
    if (
        not isinstance(value, str)
        or len(value) > MAX_TEXT
        or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value)
    ):
        raise ValueError(f"{name} must be printable text of at most {MAX_TEXT} characters")
    return value


def _is_hex(value: object, length: int | None) -> bool:
    return (
        isinstance(value, str)
        and (length is None or len(value) == length)
        and len(value) % 2 == 0
        and all(c in HEX_DIGITS for c in value)
    )


def signature_problem(
    signed: SignedHeader, validators: Mapping[int, bytes], backend: BlsBackend | None = None
) -> str | None:
    """Why the header's aggregate signature does not stand for its signers (None: it does).
    `validators` maps validator index -> BLS public key, as the caller trusts them."""
    signers = signer_indexes(signed.signers)
    if signed.signature is None or not signers:
        return "it carries no signature"
    unknown = [i for i in signers if i not in validators]
    if unknown:
        return f"signers {unknown} are not validators known here"
    backend = backend or get_backend()
    message = signing_message(signed.header.hash)
    if not backend.fast_aggregate_verify(
        [validators[i] for i in signers], message, signed.signature
    ):
        return f"the signature of signers {signers} does not verify"
    return None


@dataclass(frozen=True, slots=True)
class SignedHead:
    signed: SignedHeader
    chain_id: str | None = None
    genesis_hash: str | None = None
    source: str = ""

    @property
    def height(self) -> int:
        return self.signed.header.height

    @property
    def hash(self) -> str:
        return self.signed.header.hash

    def to_wire(self) -> dict[str, Any]:
        return {
            "format": HEAD_FORMAT,
            "chain_id": self.chain_id,
            "genesis_hash": self.genesis_hash,
            "source": self.source,
            "block": self.signed.to_wire(),
        }

    @classmethod
    def from_wire(cls, data: object, source: str = "") -> SignedHead:
        """A head record, or a bare block object (`source` names where it came from when the
        record does not say)."""
        if not isinstance(data, Mapping):
            raise ValueError("a signed head is a JSON object")
        if "block" not in data:
            return cls(header_from_wire(data), source=source)
        if data.get("format", HEAD_FORMAT) != HEAD_FORMAT:
            raise ValueError(f"not a {HEAD_FORMAT} record")
        return cls(
            header_from_wire(data["block"]),
            _text(data.get("chain_id"), "chain_id"),
            _text(data.get("genesis_hash"), "genesis_hash"),
            _text(data.get("source"), "source") or source,
        )


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Two different headers at one height, both signed by the hub."""

    first: SignedHeader
    second: SignedHeader
    # The signers' public keys as the reporter knew them (index -> key): lets anyone check the
    # proof once they have matched these keys with the chain's validators.
    validators: Mapping[int, bytes] = field(default_factory=dict)
    chain_id: str | None = None
    genesis_hash: str | None = None
    reporter: str = ""

    @property
    def height(self) -> int:
        return self.first.header.height

    @property
    def proof_id(self) -> str:
        """The same for both orders of the two headers."""
        low, high = sorted((self.first.header.hash, self.second.header.hash))
        return hashlib.sha256(f"{low}:{high}".encode()).hexdigest()

    def shape_problem(self) -> str | None:
        """Why the two headers cannot prove anything whatever their signatures (None: they
        could): not one height, one and the same block, or a header the hub did not sign."""
        first, second = self.first.header, self.second.header
        if first.height != second.height:
            return f"the headers are at heights {first.height} and {second.height}, not one"
        if first.hash == second.hash:
            return f"both headers are block {first.height} ({first.hash[:16]}...), not two"
        for name, signed in (("first", self.first), ("second", self.second)):
            if HUB not in signer_indexes(signed.signers):
                return f"the {name} header is not signed by the hub (validator {HUB})"
        return None

    def problem(
        self, validators: Mapping[int, bytes] | None = None, backend: BlsBackend | None = None
    ) -> str | None:
        """Why this is not an equivocation proof (None: it is), the signatures checked against
        `validators` (index -> public key; the embedded keys when not given)."""
        shape = self.shape_problem()
        if shape is not None:
            return shape
        keys = self.validators if validators is None else validators
        for name, signed in (("first", self.first), ("second", self.second)):
            found = signature_problem(signed, keys, backend)
            if found is not None:
                return f"the {name} header's signature does not stand: {found}"
        return None

    def to_wire(self) -> dict[str, Any]:
        return {
            "format": EQUIVOCATION_FORMAT,
            "height": self.height,
            "chain_id": self.chain_id,
            "genesis_hash": self.genesis_hash,
            "reporter": self.reporter,
            "first": self.first.to_wire(),
            "second": self.second.to_wire(),
            "validators": {str(i): key.hex() for i, key in sorted(self.validators.items())},
        }

    @classmethod
    def from_wire(cls, data: object) -> Equivocation:
        """ValueError when malformed (checking that it proves anything is `problem`'s job)."""
        if not isinstance(data, Mapping) or data.get("format") != EQUIVOCATION_FORMAT:
            raise ValueError(f"not a {EQUIVOCATION_FORMAT} document")
        keys = data.get("validators", {})
        if not isinstance(keys, Mapping):
            raise ValueError("validators maps an index to a public key (hex)")
        chain_id = _text(data.get("chain_id"), "chain_id")
        genesis_hash = _text(data.get("genesis_hash"), "genesis_hash")
        reporter = _text(data.get("reporter", ""), "reporter", nullable=False) or ""
        if len(keys) > MAX_SIGNER_INDEX + 1 or not all(
            isinstance(index, str) and index.isascii() and index.isdigit() and _is_hex(key, None)
            for index, key in keys.items()
        ):
            raise ValueError("validators maps an index to a public key (hex)")
        validators = {int(index): bytes.fromhex(key) for index, key in keys.items()}
        if "first" not in data or "second" not in data:
            raise ValueError("an equivocation holds a first and a second header")
        return cls(
            header_from_wire(data["first"]),
            header_from_wire(data["second"]),
            validators,
            chain_id,
            genesis_hash,
            reporter,
        )
