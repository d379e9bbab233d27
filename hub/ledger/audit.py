"""The audit: recompute every hash, Merkle root, signature and balance from the entries.

Blocks are checked in order: the link to the previous block, the entry count, each entry's hash,
the Merkle root, every rule (by replaying the entries through a fresh `LedgerState`: enrolments,
meter signatures, token rules, settlement arithmetic and balances) and the aggregate BLS signature
of the signers the header names. Signatures are verified in batches (one random linear combination
per batch, see `hub.ledger.bls`); a failing batch is re-checked block by block, so the report
always names the first bad block, and the first bad entry when an entry is to blame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.ledger.block import signer_indexes, signing_message
from hub.ledger.bls import BlsBackend, get_backend
from hub.ledger.chain import ChainBlock, decode_entry, structure_problem
from hub.ledger.errors import LedgerError
from hub.ledger.state import LedgerState

NOT_FINAL_LISTED = 20


@dataclass
class AuditReport:
    state: LedgerState
    blocks: int = 0
    entries: int = 0
    final_blocks: int = 0
    not_final: list[int] = field(default_factory=list)
    bad_block: int | None = None
    bad_entry: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def message(self) -> str:
        if self.ok:
            return (
                f"OK: {self.blocks} blocks, {self.entries} entries, {self.final_blocks} final; "
                "every hash, Merkle root, signature and balance recomputed"
            )
        where = f"block {self.bad_block}"
        if self.bad_entry is not None:
            where += f" entry {self.bad_entry}"
        return f"BAD {where}: {self.problem}"

    def fail(self, block: int, entry: int | None, problem: str) -> None:
        if self.problem is None:
            self.bad_block, self.bad_entry, self.problem = block, entry, problem


class _SignatureBatch:
    """Aggregate signatures waiting to be verified together."""

    def __init__(self, backend: BlsBackend, size: int) -> None:
        self.backend = backend
        self.size = size
        self.items: list[tuple[int, list[bytes], bytes, bytes]] = []

    def add(self, height: int, public_keys: list[bytes], message: bytes, signature: bytes) -> None:
        self.items.append((height, public_keys, message, signature))

    @property
    def full(self) -> bool:
        return len(self.items) >= self.size

    def first_bad(self) -> int | None:
        """Verify everything waiting; the height of the first bad signature, or None."""
        items, self.items = self.items, []
        if self.backend.batch_verify([(pks, msg, sig) for _h, pks, msg, sig in items]):
            return None
        for height, pks, msg, sig in items:
            if not self.backend.fast_aggregate_verify(pks, msg, sig):
                return height
        return None  # the batch failed only by chance: every signature verifies alone


class Auditor:
    """Feed blocks in chain order; stops at the first problem (see `report`)."""

    def __init__(
        self,
        backend: BlsBackend | None = None,
        check_meter_signatures: bool = True,
        batch_size: int = 256,
    ) -> None:
        backend = backend or get_backend()
        self.state = LedgerState(backend, check_meter_signatures=check_meter_signatures)
        self.report = AuditReport(self.state)
        self._pending = _SignatureBatch(backend, batch_size)
        self._prev_hash: str | None = None

    def feed(self, block: ChainBlock) -> bool:
        """Check one block; False once a problem has been found (feed no more)."""
        report = self.report
        if not report.ok:
            return False
        problem = _check_block(block, report.blocks, self._prev_hash, self.state, self._pending)
        if problem is not None:
            if self._flush():  # an earlier block's bad signature comes first
                report.fail(report.blocks, problem[0], problem[1])
            return False
        if self._pending.full and not self._flush():
            return False
        header = block.header
        report.blocks += 1
        report.entries += header.entry_count
        assert self.state.params is not None
        if block.signed.signer_count >= self.state.params.threshold:
            report.final_blocks += 1
        elif len(report.not_final) < NOT_FINAL_LISTED:
            report.not_final.append(header.height)
        self._prev_hash = header.hash
        return True

    def finish(self) -> AuditReport:
        if self.report.ok:
            self._flush()
        if self.report.ok and self.report.blocks == 0:
            self.report.fail(0, None, "the chain is empty")
        return self.report

    def _flush(self) -> bool:
        """Verify waiting signatures; False (and the report names the block) if one is bad."""
        bad = self._pending.first_bad()
        if bad is None:
            return True
        self.report.fail(bad, None, "aggregate signature does not verify")
        return False


def audit(
    blocks: Iterable[ChainBlock],
    backend: BlsBackend | None = None,
    check_meter_signatures: bool = True,
    batch_size: int = 256,
) -> AuditReport:
    auditor = Auditor(backend, check_meter_signatures, batch_size)
    for block in blocks:
        if not auditor.feed(block):
            break
    return auditor.finish()


def _check_block(
    block: ChainBlock,
    expected_height: int,
    prev_hash: str | None,
    state: LedgerState,
    pending: _SignatureBatch,
) -> tuple[int | None, str] | None:
    header = block.header
    if header.height != expected_height:
        return None, f"height {header.height} where block {expected_height} should be"
    problem = structure_problem(block, prev_hash)
    if problem is not None:
        return problem
    state.height = header.height
    for index, raw in enumerate(block.entries):
        try:
            entry = decode_entry(raw)
            state.apply(entry, f"block {header.height} entry {index}")
        except LedgerError as err:
            return index, f"({_kind(raw)}) {err.reason}: {err.detail}"
        except ValueError as err:
            return index, f"not a JSON object: {err}"
    if state.in_settlement:
        return None, "the block ends in the middle of an interval's settlement"
    return _signature_problem(block, state, pending)


def _signature_problem(
    block: ChainBlock, state: LedgerState, pending: _SignatureBatch
) -> tuple[int | None, str] | None:
    signed, height = block.signed, block.header.height
    if signed.signature is None or not signed.signers:
        return None, "the block carries no signature"
    active = state.validators_at(height)
    signers = signer_indexes(signed.signers)
    if 0 not in signers:
        return None, "the block is not signed by the hub (validator 0)"
    for index in signers:
        if index >= len(active):
            return None, f"signer {index} is not a validator active at height {height}"
    public_keys = [active[i].public_key for i in signers]
    pending.add(height, public_keys, signing_message(block.header.hash), signed.signature)
    return None


def _kind(raw: bytes) -> str:
    try:
        return str(decode_entry(raw).get("kind"))
    except ValueError:
        return "?"


def holdings_problems(state: LedgerState, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Compare the database's holdings table with the holdings the entries add up to."""
    expected: dict[tuple[str, str, str], int] = {}
    for home, lots in state.certificates.items():
        for lot, units in lots.items():
            if units:
                expected[(home, "certificate", lot)] = units
    for account, units in state.flex.items():
        if units:
            expected[(account, "flex", "")] = units
    found = {(r["account"], r["asset"], r["lot"]): int(r["units"]) for r in rows if r["units"]}
    problems = []
    for key in sorted(set(expected) | set(found)):
        if expected.get(key, 0) != found.get(key, 0):
            account, asset, lot = key
            problems.append(
                f"holdings row {account}/{asset}/{lot or '-'} says {found.get(key, 0)}, "
                f"the entries add up to {expected.get(key, 0)}"
            )
    return problems
