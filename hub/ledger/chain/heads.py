"""Comparing a chain with signed heads that witnesses or homes kept (`verify --heads`).

A head stands against the chain when its signature verifies with the keys of the chain's own
validators at its height. A standing head that differs from the chain's block at its height
(or names a height the chain no longer has) means the hub signed a block that is not in this
chain: its history was rewritten or cut. A head that does not stand is a problem too: it was
forged, or this chain's validators are not the ones its holder saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gridcoop_home.ledger.block import signer_indexes
from gridcoop_home.ledger.bls import BlsBackend
from gridcoop_home.ledger.heads import SignedHead, signature_problem

from hub.ledger.accounts.state import LedgerState


@dataclass(frozen=True, slots=True)
class HeadProblem:
    height: int
    source: str
    problem: str

    def __str__(self) -> str:
        return (
            f"block {self.height} (head from {self.source or 'an unnamed source'}): {self.problem}"
        )


def head_problems(
    heads: Iterable[SignedHead],
    hashes: Mapping[int, str],
    state: LedgerState,
    backend: BlsBackend,
) -> list[HeadProblem]:
    """Every head that does not match the chain whose block hashes (`hashes`, by height: at
    least the heads' heights and 0) and replayed state are given, lowest height first."""
    assert state.params is not None
    chain_id, threshold = state.params.chain_id, state.params.threshold
    problems = []
    for head in heads:
        found = _problem(head, hashes, state, chain_id, threshold, backend)
        if found is not None:
            problems.append(HeadProblem(head.height, head.source, found))
    return sorted(problems, key=lambda problem: problem.height)


def _problem(
    head: SignedHead,
    hashes: Mapping[int, str],
    state: LedgerState,
    chain_id: str,
    threshold: int,
    backend: BlsBackend,
) -> str | None:
    height = head.height
    if head.chain_id is not None and head.chain_id != chain_id:
        return f"it belongs to chain {head.chain_id}; this chain is {chain_id}"
    if head.genesis_hash is not None and head.genesis_hash != hashes.get(0):
        return (
            f"its chain began with genesis {head.genesis_hash[:16]}...; this chain begins with "
            f"{hashes.get(0, '?')[:16]}..."
        )
    keys = {v.index: v.public_key for v in state.validators_at(height)}
    bad_signature = signature_problem(head.signed, keys, backend)
    if bad_signature is not None:
        return (
            f"its signature does not stand against this chain's validators ({bad_signature}): "
            "forged, or this chain's validators were rewritten"
        )
    signers = signer_indexes(head.signed.signers)
    seen = f"signed by validators {signers}" + (
        f", final (threshold {threshold})" if len(signers) >= threshold else ""
    )
    here = hashes.get(height)
    if here is None:
        return f"this chain has no block {height}; the head's holder saw one {seen}"
    if here != head.hash:
        return (
            f"this chain's block is {here[:16]}...; the head's holder saw {head.hash[:16]}... "
            f"{seen}: history was rewritten"
        )
    return None
