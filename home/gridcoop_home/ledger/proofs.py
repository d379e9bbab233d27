"""Inclusion and finality proofs: an entry is in a block whose signers a home trusts.

Given validator public keys the home trusts (for instance published by the neighbours who run
witnesses) and the hub's answer to `GET /api/v1/ledger/homes/{home_id}` (its `settlement`) or
`GET /api/v1/ledger/entries/{hash}`, `check_entry_proof` recomputes the entry's leaf hash, the
Merkle root from the inclusion proof, the block hash from the header, and the aggregate BLS
signature of at least `threshold` trusted validators over that hash. `LightClient`
(gridcoop_home.ledger.light_client) builds on these to follow the chain itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridcoop_home.ledger.block import SignedHeader, signer_indexes, signing_message
from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.entries import SETTLEMENT, Entry, encode_entry, entry_hash
from gridcoop_home.ledger.merkle import root_from_proof
from gridcoop_home.ledger.tables import expand


@dataclass(frozen=True, slots=True)
class ProofCheck:
    ok: bool
    reason: str
    entry: Entry | None = None
    height: int | None = None

    def settlement_of(self, home_id: str) -> Entry | None:
        """The home's settlement in the proven entry: a format-1 settlement entry, or the home's
        row of a format-2 `settled_interval` table."""
        if self.entry is None:
            return None
        try:
            parts = expand(self.entry)
        except (KeyError, TypeError, ValueError):
            return None
        for part in parts:
            if part.get("kind") == SETTLEMENT and part.get("home_id") == home_id:
                return part
        return None

    def balance_minor_of(self, home_id: str) -> int | None:
        """The home's balance as settled in the proven entry, if it holds the home's settlement."""
        settlement = self.settlement_of(home_id)
        value = None if settlement is None else settlement.get("balance_minor")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_inclusion(entry: Entry, index: int, proof: Sequence[str], signed: SignedHeader) -> bool:
    leaf = entry_hash(encode_entry(entry))
    root = root_from_proof(
        leaf, index, signed.header.entry_count, [bytes.fromhex(p) for p in proof]
    )
    return root is not None and root.hex() == signed.header.merkle_root


def check_finality(
    signed: SignedHeader,
    validators: Mapping[int, bytes],
    threshold: int,
    backend: BlsBackend | None = None,
) -> tuple[bool, str]:
    """Final = at least `threshold` signers, all trusted, whose aggregate signature verifies."""
    signers = signer_indexes(signed.signers)
    if signed.signature is None or len(signers) < threshold:
        return False, f"{len(signers)} of the required {threshold} signatures"
    unknown = [i for i in signers if i not in validators]
    if unknown:
        return False, f"signers {unknown} are not validators this client trusts"
    backend = backend or get_backend()
    message = signing_message(signed.header.hash)
    if not backend.fast_aggregate_verify(
        [validators[i] for i in signers], message, signed.signature
    ):
        return False, "the aggregate signature does not verify"
    return True, "final"


def check_entry_proof(
    answer: Mapping[str, Any],
    validators: Mapping[int, bytes],
    threshold: int,
    backend: BlsBackend | None = None,
) -> ProofCheck:
    """Check the hub's proof document {entry, index, proof, block} end to end."""
    try:
        entry = dict(answer["entry"])
        signed = SignedHeader.from_wire(answer["block"])
        index = int(answer["index"])
        proof = [str(p) for p in answer["proof"]]
    except (KeyError, TypeError, ValueError) as err:
        return ProofCheck(False, f"malformed proof document: {err!r}")
    if answer["block"].get("hash") not in (None, signed.header.hash):
        return ProofCheck(False, "the block hash does not match the header")
    if not check_inclusion(entry, index, proof, signed):
        return ProofCheck(False, "the inclusion proof does not lead to the block's Merkle root")
    final, reason = check_finality(signed, validators, threshold, backend)
    if not final:
        return ProofCheck(False, f"block {signed.header.height} is not final: {reason}")
    return ProofCheck(True, "included in a final block", entry, signed.header.height)
