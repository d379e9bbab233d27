"""The seals of a chain: what binds blocks to each other and to their signers.

Checked apart from the entries' rules, so an audit can run both on two cores at once:

- each block's height, its link to the previous block, its entry count, each recorded entry
  hash and its Merkle root;
- the signers it names (the hub, validator 0, must be one; each must be active at that height)
  and their aggregate BLS signature;
- in `check_export_seals` (the child process of `audit_export`), also the rules of the meter
  readings (`ReadingRules`), which the rules pass then adds unchecked: that balances the two
  processes' work.

Validator keys come from the chain's own genesis and validator entries (the rules pass checks
those entries' proofs of possession). Aggregate signatures are verified in batches, one random
linear combination per batch (see `gridcoop_home.ledger.bls`); a failing batch is re-checked block
by block,
so the first bad block is always named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gridcoop_home.ledger.block import signer_indexes, signing_message
from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.entries import (
    ENROL,
    GENESIS,
    METER_READINGS,
    READINGS,
    REVOKE,
    VALIDATOR,
    kinds_pattern,
)
from gridcoop_home.ledger.errors import LedgerError

from hub.ledger.accounts.state import LedgerState, every_block
from hub.ledger.chain.chain import ChainBlock, decode_entry, structure_problem
from hub.ledger.chain.export import read_export

# Entries that add validators. A substring test finds them without decoding every entry; a false
# hit (the text inside some other entry) is decoded and skipped.
_VALIDATOR_KINDS = kinds_pattern((GENESIS, VALIDATOR))


# What a check of one block looks at, in the order a reader checks a block in.
STRUCTURE, RULES, SIGNATURE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class SealProblem:
    block: int
    entry: int | None
    problem: str
    stage: int  # STRUCTURE, RULES or SIGNATURE


_READINGS_KINDS = frozenset({READINGS, METER_READINGS})


def readings_checked_here(meter_signatures: bool, child: bool) -> Callable[[int], bool]:
    """Which blocks' readings a process of `audit_export` checks. Re-checking meter signatures
    (~80 us each, hundreds per block) outweighs everything else, so then the two processes take
    every other block; without them the child, which has the lighter load, takes them all."""
    if meter_signatures:
        return _even_height if child else _odd_height
    return every_block if child else _no_block


def _even_height(height: int) -> bool:
    return height % 2 == 0


def _odd_height(height: int) -> bool:
    return height % 2 == 1


def _no_block(height: int) -> bool:
    return False


class ReadingRules:
    """The rules of genesis, enrolment, revocation and readings entries, apart from the rest:
    every reading comes from an enrolled, unrevoked meter key, in sequence, with registers that
    never go down (and, optionally, a valid meter signature), in the blocks this process checks
    (`readings_checked_here`). Messages match `audit`'s."""

    KINDS = frozenset({GENESIS, ENROL, REVOKE, READINGS, METER_READINGS})
    # Only entries holding one of these are decoded; the rules pass refuses an entry of these
    # kinds written without its marker (see `kind_marker`), so none can slip past unchecked.
    PATTERN = kinds_pattern(KINDS)

    def __init__(self, backend: BlsBackend, check_meter_signatures: bool) -> None:
        self.checked = readings_checked_here(check_meter_signatures, child=True)
        self.state = LedgerState(backend, check_meter_signatures, self.checked)

    def check(self, block: ChainBlock) -> SealProblem | None:
        height = block.header.height
        state = self.state
        state.height = height
        for index, raw in enumerate(block.entries):
            if self.PATTERN.search(raw) is None:
                continue
            try:
                entry = decode_entry(raw)
            except ValueError:
                continue  # the rules pass names it
            kind = entry.get("kind")
            if kind not in self.KINDS:
                continue
            try:
                state.apply(entry, f"block {height} entry {index}")
            except LedgerError as err:
                if kind in _READINGS_KINDS and not self.checked(height):
                    continue  # the rules pass checks this block's readings and names the problem
                return SealProblem(height, index, f"({kind}) {err.reason}: {err.detail}", RULES)
        if height % 64 == 0:
            for timeline in state.timelines.values():  # only each meter's last reading matters
                if timeline.times:
                    timeline.prune_before(timeline.times[-1])
        return None


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


class SealChecker:
    """Feed blocks in chain order: `structure` then `signature` for each (or `feed` for both)."""

    def __init__(self, backend: BlsBackend | None = None, batch_size: int = 256) -> None:
        self._pending = _SignatureBatch(backend or get_backend(), batch_size)
        self._prev_hash: str | None = None
        self._validators: list[tuple[int, bytes]] = []  # (first height it may sign, public key)
        self.blocks = 0  # blocks whose structure checked out

    def structure(self, block: ChainBlock) -> SealProblem | None:
        header = block.header
        if header.height != self.blocks:
            return _structural(
                self.blocks, None, f"height {header.height} where block {self.blocks} should be"
            )
        found = structure_problem(block, self._prev_hash)
        if found is not None:
            return _structural(header.height, *found)
        self._note_validators(block)
        self._prev_hash = header.hash
        self.blocks += 1
        return None

    def signature(self, block: ChainBlock) -> SealProblem | None:
        """Queue the block's aggregate signature; a problem once it (or an earlier one) fails."""
        signed, height = block.signed, block.header.height
        if signed.signature is None or not signed.signers:
            return _unsigned(height, "the block carries no signature")
        active = [key for first, key in self._validators if first <= height]
        signers = signer_indexes(signed.signers)
        if 0 not in signers:
            return _unsigned(height, "the block is not signed by the hub (validator 0)")
        for index in signers:
            if index >= len(active):
                return _unsigned(
                    height, f"signer {index} is not a validator active at height {height}"
                )
        public_keys = [active[i] for i in signers]
        self._pending.add(height, public_keys, signing_message(block.header.hash), signed.signature)
        return self.flush() if self._pending.full else None

    def feed(self, block: ChainBlock) -> SealProblem | None:
        return self.structure(block) or self.signature(block)

    def flush(self) -> SealProblem | None:
        """Verify the signatures waiting; the first bad one's problem, if any."""
        bad = self._pending.first_bad()
        return None if bad is None else _unsigned(bad, "aggregate signature does not verify")

    def _note_validators(self, block: ChainBlock) -> None:
        for raw in block.entries:
            if _VALIDATOR_KINDS.search(raw) is None:
                continue
            try:
                entry = decode_entry(raw)
                if entry.get("kind") == "genesis" and not self._validators:
                    key = entry["validator"]["public_key"]
                    self._validators.append((0, bytes.fromhex(key)))
                elif entry.get("kind") == "validator":
                    key = entry["public_key"]
                    self._validators.append((int(entry["active_from"]), bytes.fromhex(key)))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # malformed: the rules pass names the entry


def _structural(block: int, entry: int | None, problem: str) -> SealProblem:
    return SealProblem(block, entry, problem, STRUCTURE)


def _unsigned(block: int, problem: str) -> SealProblem:
    return SealProblem(block, None, problem, SIGNATURE)


def check_export_seals(
    path: Path, backend_name: str, batch_size: int, meter_signatures: bool
) -> SealReport:
    """Every seal and reading rule of an export file: the blocks checked and the first problem."""
    backend = get_backend(backend_name)
    checker = SealChecker(backend, batch_size)
    readings = ReadingRules(backend, meter_signatures)
    for block in read_export(path):
        problem = checker.structure(block) or readings.check(block) or checker.signature(block)
        if problem is not None:
            return SealReport(checker.blocks, first_problem(checker.flush(), problem))
    return SealReport(checker.blocks, checker.flush())


@dataclass(frozen=True, slots=True)
class SealReport:
    blocks: int
    problem: SealProblem | None

    def to_wire(self) -> dict[str, Any]:
        return {"blocks": self.blocks, "problem": asdict(self.problem) if self.problem else None}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> SealReport:
        problem = data["problem"]
        return cls(int(data["blocks"]), SealProblem(**problem) if problem else None)


class SealProcess:
    """`check_export_seals` in a child Python process (`python -m hub.ledger.chain.seals`).

    A plain subprocess rather than multiprocessing: it never re-imports the caller's main module
    (`python -m hub` has no `__main__` guard to hide behind) and needs nothing pickled.
    """

    def __init__(
        self, path: Path, backend_name: str, batch_size: int, meter_signatures: bool
    ) -> None:
        package_root = str(Path(__file__).resolve().parents[2])  # so the child imports this hub
        paths = [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
        self._child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.ledger.chain.seals",
                str(path),
                backend_name,
                str(batch_size),
                "meter-signatures" if meter_signatures else "trust-meter-signatures",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        )

    def result(self) -> SealReport:
        out, err = self._child.communicate()
        if self._child.returncode != 0:
            raise RuntimeError(f"the seal check failed: {err.decode(errors='replace')[-2000:]}")
        return SealReport.from_wire(json.loads(out))

    def stop(self) -> None:
        if self._child.poll() is None:
            self._child.kill()
            self._child.communicate()


def first_problem(earlier: SealProblem | None, found: SealProblem) -> SealProblem:
    """A signature queued from an earlier block that turns out bad comes before `found`."""
    return earlier if earlier is not None and earlier.block < found.block else found


def main(argv: list[str]) -> int:
    path, backend_name, batch_size, signatures = argv
    report = check_export_seals(
        Path(path), backend_name, int(batch_size), signatures == "meter-signatures"
    )
    print(json.dumps(report.to_wire()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
