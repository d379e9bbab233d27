"""The audit: recompute every hash, Merkle root, signature and balance from the entries.

Blocks are checked in order: the link to the previous block, the entry count, each entry's hash,
the Merkle root, every rule (by replaying the entries through a fresh `LedgerState`: enrolments,
meter signatures, token rules, settlement arithmetic and balances) and the aggregate BLS signature
of the signers the header names. Signatures are verified in batches (one random linear combination
per batch, see `gridcoop_home.ledger.bls`); a failing batch is re-checked block by block, so the
report
always names the first bad block, and the first bad entry when an entry is to blame.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.entries import kind_marker
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors

from hub.ledger.accounts.state import LedgerState, every_block
from hub.ledger.chain.chain import ChainBlock, decode_entry
from hub.ledger.chain.export import read_export
from hub.ledger.chain.seals import (
    RULES,
    STRUCTURE,
    ReadingRules,
    SealChecker,
    SealProblem,
    SealProcess,
    first_problem,
    readings_checked_here,
)

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
    hashes: dict[int, str] = field(default_factory=dict)  # block hashes kept (`keep_hashes`)

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


class Auditor:
    """Feed blocks in chain order; stops at the first problem (see `report`).

    With `check_seals=False` only the entries' rules are replayed: the caller checks the seals
    (hashes, Merkle roots, signatures) elsewhere, as `audit_export` does in a second process;
    readings of the blocks `check_readings` refuses are added unchecked (that process checks
    them). The hashes of the blocks at `keep_hashes` are kept in the report (`verify --heads`
    compares them with signed heads).
    """

    def __init__(
        self,
        backend: BlsBackend | None = None,
        check_meter_signatures: bool = True,
        batch_size: int = 256,
        check_seals: bool = True,
        check_readings: Callable[[int], bool] = every_block,
        keep_hashes: Collection[int] = (),
    ) -> None:
        backend = backend or get_backend()
        self.state = LedgerState(backend, check_meter_signatures, check_readings)
        self.report = AuditReport(self.state)
        self.seals = SealChecker(backend, batch_size) if check_seals else None
        self._keep_hashes = frozenset(keep_hashes)

    def feed(self, block: ChainBlock) -> bool:
        """Check one block; False once a problem has been found (feed no more)."""
        report = self.report
        if not report.ok:
            return False
        problem = self._check(block)
        if problem is not None:
            if self.seals is not None:
                problem = first_problem(self.seals.flush(), problem)
            report.fail(problem.block, problem.entry, problem.problem)
            return False
        header = block.header
        if header.height in self._keep_hashes:
            report.hashes[header.height] = header.hash
        report.blocks += 1
        report.entries += header.entry_count
        assert self.state.params is not None
        if block.signed.signer_count >= self.state.params.threshold:
            report.final_blocks += 1
        elif len(report.not_final) < NOT_FINAL_LISTED:
            report.not_final.append(header.height)
        return True

    def finish(self) -> AuditReport:
        if self.report.ok and self.seals is not None:
            problem = self.seals.flush()
            if problem is not None:
                self.report.fail(problem.block, None, problem.problem)
        if self.report.ok and self.report.blocks == 0:
            self.report.fail(0, None, "the chain is empty")
        return self.report

    def _check(self, block: ChainBlock) -> SealProblem | None:
        """Structure, then rules, then the signature: the order a reader checks a block in."""
        if self.seals is not None:
            problem = self.seals.structure(block)
            if problem is not None:
                return problem
        problem = _rules_problem(block, self.state)
        if problem is not None or self.seals is None:
            return problem
        return self.seals.signature(block)


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


def audit_export(
    path: Path,
    backend: BlsBackend | None = None,
    check_meter_signatures: bool = True,
    batch_size: int = 256,
    keep_hashes: Collection[int] = (),
) -> AuditReport:
    """Audit an export file on two cores: the seals and the readings' rules in a child process,
    every other rule here (with meter signatures, the readings of every other block here too).

    Both passes read the file; the report names the earliest problem either found, as the
    one-process `audit` would (at the same block a broken structure comes first, then the rules
    in entry order, then the signature). Raises ExportError / OSError when the file cannot be
    read.
    """
    backend = backend or get_backend()
    seals = SealProcess(path, backend.name, batch_size, check_meter_signatures)
    try:
        auditor = Auditor(
            backend,
            check_meter_signatures,
            batch_size,
            check_seals=False,
            check_readings=readings_checked_here(check_meter_signatures, child=False),
            keep_hashes=keep_hashes,
        )
        with _gc_paused():
            for block in read_export(path):
                if not auditor.feed(block):
                    break
        sealed = seals.result()
    finally:
        seals.stop()
    report = auditor.finish()
    if sealed.problem is not None and _seal_problem_first(sealed.problem, report):
        report.problem = None
        report.fail(sealed.problem.block, sealed.problem.entry, sealed.problem.problem)
    elif report.ok and sealed.blocks != report.blocks:
        report.fail(sealed.blocks, None, "the seal pass and the rules pass read different chains")
    return report


def _seal_problem_first(seal: SealProblem, report: AuditReport) -> bool:
    """Whether the child's problem comes before the rules pass's (which is a RULES problem)."""
    if report.ok or report.bad_block is None:
        return True
    if seal.block != report.bad_block:
        return seal.block < report.bad_block
    if seal.stage != RULES:  # same block: structure before rules, rules before the signature
        return seal.stage == STRUCTURE
    if seal.entry is None or report.bad_entry is None:
        return report.bad_entry is None  # a problem with the whole block comes after its entries
    return seal.entry <= report.bad_entry  # at the same entry the readings' own check speaks


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The replay builds millions of long-lived objects and no cycles: the cyclic collector
    would only rescan them, over and over, as the state grows through a year of blocks."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rules_problem(block: ChainBlock, state: LedgerState) -> SealProblem | None:
    height = block.header.height
    state.height = height
    for index, raw in enumerate(block.entries):
        try:
            entry = decode_entry(raw)
            if entry.get("kind") in ReadingRules.KINDS and not _canonical_kind(entry, raw):
                raise LedgerError(errors.INVALID_ENTRY, "the entry is not canonical JSON")
            state.apply(entry, f"block {height} entry {index}")
        except LedgerError as err:
            return _rule(height, index, f"({_kind(raw)}) {err.reason}: {err.detail}")
        except ValueError as err:
            return _rule(height, index, f"not a JSON object: {err}")
    if state.in_settlement:
        return _rule(height, None, "the block ends in the middle of an interval's settlement")
    return None


def _canonical_kind(entry: dict[str, Any], raw: bytes) -> bool:
    """The entry names its kind as canonical JSON does (the seal child finds it by those bytes)."""
    return kind_marker(str(entry["kind"])) in raw


def _rule(block: int, entry: int | None, problem: str) -> SealProblem:
    return SealProblem(block, entry, problem, RULES)


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
