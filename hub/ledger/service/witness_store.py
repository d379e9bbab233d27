"""What a witness remembers: every block it checked and every block it signed, durably.

One SQLite file in the witness's data directory, written with `synchronous=FULL` (each commit
is on disk before it returns). A block's height is the table's primary key, so the store holds
one block per height: `record` refuses a different block at a height it already holds, and the
witness commits a block it signs before it releases the signature (`Witness._sign`). Equivocation
proofs the witness found are kept here too; a store that holds one makes the witness refuse to
co-sign anything again, restart or not.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate

from gridcoop_home.ledger.block import SignedHeader
from gridcoop_home.ledger.heads import Equivocation, SignedHead

STORE_FILE = "witness.sqlite3"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS chain (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        public_key TEXT NOT NULL,
        chain_id TEXT,
        genesis_hash TEXT)""",
    """CREATE TABLE IF NOT EXISTS blocks (
        height INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        header TEXT NOT NULL,
        signed_as INTEGER,
        signature TEXT,
        head_signers TEXT,
        head_signature TEXT)""",
    """CREATE TABLE IF NOT EXISTS equivocations (
        proof_id TEXT PRIMARY KEY,
        height INTEGER NOT NULL,
        proof TEXT NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0)""",
)


class StoreConflict(Exception):
    """The store already holds another block at that height, or belongs to another witness."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """A block as the witness recorded it: the header with the signatures it carried when the
    witness checked it, and the witness's own signature when it signed it."""

    header: SignedHeader
    signed_as: int | None  # the validator index it signed as, None: checked, not signed
    signature: bytes | None  # the witness's own signature
    head: SignedHeader  # the header with the signatures known here (its own included)

    @property
    def hash(self) -> str:
        return self.header.header.hash


def default_data_dir(key_file: Path) -> Path:
    """Next to the key: `witness.key` keeps its memory in `witness-data/`."""
    return key_file.parent / f"{key_file.stem}-data"


def _locked[**P, R](
    method: Callable[Concatenate[WitnessStore, P], R],
) -> Callable[Concatenate[WitnessStore, P], R]:
    """One call at a time: the witness checks blocks in a worker thread while its HTTP endpoint
    reads the store from the event loop."""

    @functools.wraps(method)
    def locked(self: WitnessStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class WitnessStore:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.RLock()

    @classmethod
    def open(cls, data_dir: Path, public_key: bytes) -> WitnessStore:
        """The store in `data_dir` (created if new), bound to the witness key `public_key`."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / STORE_FILE
        new = not path.exists()
        connection = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            connection.execute(statement)
        store = cls(connection)
        found = connection.execute("SELECT public_key FROM chain").fetchone()
        if found is None:
            connection.execute(
                "INSERT INTO chain (one, public_key) VALUES (1, ?)", (public_key.hex(),)
            )
        elif found[0] != public_key.hex():
            connection.close()
            raise StoreConflict(
                f"{data_dir} holds the memory of witness key {found[0][:16]}..., "
                f"not of this key {public_key.hex()[:16]}..."
            )
        store.commit()
        if new:
            _sync_directory(data_dir)  # the new file's name is durable too
        return store

    @_locked
    def close(self) -> None:
        self._db.close()

    @_locked
    def commit(self) -> None:
        """Make everything recorded so far durable (returns once it is on disk)."""
        self._db.commit()

    # -- the chain ----------------------------------------------------------------------------

    @_locked
    def chain(self) -> tuple[str | None, str | None]:
        """(chain id, genesis hash) of the chain this witness follows (None before it knows)."""
        row = self._db.execute("SELECT chain_id, genesis_hash FROM chain").fetchone()
        return row[0], row[1]

    @_locked
    def bind_chain(self, chain_id: str, genesis_hash: str) -> None:
        self._db.execute(
            "UPDATE chain SET chain_id = ?, genesis_hash = ?", (chain_id, genesis_hash)
        )
        self.commit()

    # -- blocks -------------------------------------------------------------------------------

    @_locked
    def last_height(self) -> int | None:
        value = self._db.execute("SELECT max(height) FROM blocks").fetchone()[0]
        return None if value is None else int(value)

    @_locked
    def recorded(self, height: int) -> Recorded | None:
        row = self._db.execute(
            "SELECT header, signed_as, signature, head_signers, head_signature FROM blocks "
            "WHERE height = ?",
            (height,),
        ).fetchone()
        return None if row is None else _recorded(row)

    def record(
        self,
        signed: SignedHeader,
        signed_as: int | None = None,
        signature: bytes | None = None,
        head: SignedHeader | None = None,
    ) -> None:
        """Remember a checked block (and, with `signed_as`, this witness's signature on it).
        Not durable until `commit`. StoreConflict when another block is recorded at its height."""
        header = signed.header
        known = self._db.execute(
            "SELECT hash FROM blocks WHERE height = ?", (header.height,)
        ).fetchone()
        if known is not None and known[0] != header.hash:
            raise StoreConflict(
                f"block {header.height} is recorded as {known[0][:16]}..., "
                f"not {header.hash[:16]}..."
            )
        head = head or signed
        values = (
            signed_as,
            signature.hex() if signature else None,
            format(head.signers, "x"),
            head.signature.hex() if head.signature else None,
        )
        if known is None:
            self._db.execute(
                "INSERT INTO blocks (height, hash, header, signed_as, signature, head_signers, "
                "head_signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (header.height, header.hash, json.dumps(signed.to_wire()), *values),
            )
        elif signed_as is not None:
            self._db.execute(
                "UPDATE blocks SET signed_as = ?, signature = ?, head_signers = ?, "
                "head_signature = ? WHERE height = ?",
                (*values, header.height),
            )

    @_locked
    def heads(self, limit: int, source: str) -> list[SignedHead]:
        """The newest recorded blocks as signed heads, newest first."""
        chain_id, genesis_hash = self.chain()
        rows = self._db.execute(
            "SELECT header, signed_as, signature, head_signers, head_signature FROM blocks "
            "ORDER BY height DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [SignedHead(_recorded(row).head, chain_id, genesis_hash, source) for row in rows]

    @_locked
    def signed_count(self) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM blocks WHERE signed_as IS NOT NULL").fetchone()[
                0
            ]
        )

    # -- equivocations ------------------------------------------------------------------------

    @_locked
    def add_equivocation(self, proof: Equivocation) -> None:
        """Keep a proof for good (durable when this returns)."""
        self._db.execute(
            "INSERT OR IGNORE INTO equivocations (proof_id, height, proof) VALUES (?, ?, ?)",
            (proof.proof_id, proof.height, json.dumps(proof.to_wire())),
        )
        self.commit()

    @_locked
    def equivocations(self) -> list[tuple[Equivocation, bool]]:
        """Every proof kept, oldest height first, with whether the hub has acknowledged it."""
        rows = self._db.execute(
            "SELECT proof, delivered FROM equivocations ORDER BY height, proof_id"
        ).fetchall()
        return [(Equivocation.from_wire(json.loads(proof)), bool(done)) for proof, done in rows]

    @_locked
    def mark_delivered(self, proof: Equivocation) -> None:
        self._db.execute(
            "UPDATE equivocations SET delivered = 1 WHERE proof_id = ?", (proof.proof_id,)
        )
        self.commit()


def _recorded(row: tuple[str, int | None, str | None, str, str | None]) -> Recorded:
    header, signed_as, signature, head_signers, head_signature = row
    signed = SignedHeader.from_wire(json.loads(header))
    head = SignedHeader(
        signed.header,
        int(head_signers, 16),
        bytes.fromhex(head_signature) if head_signature else None,
    )
    return Recorded(signed, signed_as, bytes.fromhex(signature) if signature else None, head)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
