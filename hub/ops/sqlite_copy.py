"""Consistent copies of a SQLite database that a hub may be writing, and what a copy holds.

The hub runs SQLite in WAL mode: committed data sits in `NAME.db-wal` until a checkpoint moves
it into `NAME.db`, so copying the .db file alone loses it (after a clean stop the .db can be an
empty 4 KB shell). SQLite's online backup API reads through SQLite itself, which sees the WAL,
and takes one consistent snapshot while the hub keeps writing. The copy is then switched to
rollback-journal mode, checked and renamed into place: one self-contained file, never half
written.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hub.ops.database import OpsError

BUSY_TIMEOUT_MS = 10_000  # as the hub's own connections (hub.store.connections)
COUNTED_TABLES = ("homes", "keys", "readings", "intervals", "ledger_blocks", "ledger_entries")


@dataclass(frozen=True, slots=True)
class Contents:
    """What a hub database holds, for the operator to check a backup or a restore at a glance."""

    schema_version: int
    counts: dict[str, int]

    def describe(self) -> str:
        counted = ", ".join(f"{table} {count}" for table, count in self.counts.items())
        return f"schema version {self.schema_version}: {counted}"


@contextlib.contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def online_copy(source: Path, target: Path) -> None:
    """Copy `source` (WAL included) to `target`, a path that must not exist, as one file."""
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _remove(partial)
    try:
        with connect(source) as src, connect(partial) as dst:
            src.backup(dst)  # all pages in one step: one snapshot, writers carry on (WAL)
            dst.execute("PRAGMA journal_mode=DELETE")  # self-contained: no -wal beside it
            problem = integrity_problem(dst)
            if problem is not None:
                raise OpsError(f"the copy of {source} failed its integrity check: {problem}")
        os.replace(partial, target)
    finally:
        _remove(partial)
    _fsync_dir(target.parent)


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    rows = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    return None if rows == ["ok"] else "; ".join(map(str, rows[:5]))


def contents(path: Path) -> Contents:
    """Schema version and row counts of a hub database file; OpsError if it is not one."""
    try:
        with connect(path) as conn:
            conn.execute("PRAGMA query_only=ON")
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "schema_version" not in tables or "homes" not in tables:
                raise OpsError(f"{path} is not a GridCoop hub database (no hub tables in it)")
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            counts = {
                table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
                for table in COUNTED_TABLES
                if table in tables
            }
    except sqlite3.DatabaseError as err:
        raise OpsError(f"{path} is not a readable SQLite database: {err}") from err
    return Contents(int(version or 0), counts)


def check_backup_file(path: Path) -> Contents:
    """A backup to restore from: a hub database that passes SQLite's integrity check."""
    if not path.is_file():
        raise OpsError(f"no backup file at {path}")
    found = contents(path)
    with connect(path) as conn:
        problem = integrity_problem(conn)
    if problem is not None:
        raise OpsError(f"{path} fails SQLite's integrity check: {problem}")
    return found


def in_use(path: Path) -> bool:
    """Whether another connection (a running hub, a CLI command) has the database open.

    Leaving WAL mode needs the only connection to the file: SQLite refuses it ("database is
    locked") while any other holds it open, and a hub holds its connections open while it runs.
    Only called on a database about to be replaced."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError as err:
        if "locked" in str(err) or "busy" in str(err):
            return True
        raise OpsError(f"cannot open {path}: {err}") from err
    finally:
        conn.close()
    return str(mode).lower() != "delete"


def replace_database(backup: Path, target: Path) -> None:
    """Put a copy of `backup` at `target` (any old database there and its -wal/-shm go)."""
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _remove(partial)
    try:
        with connect(backup) as src, connect(partial) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        for stale in (Path(f"{target}-wal"), Path(f"{target}-shm"), Path(f"{target}-journal")):
            _remove(stale)  # an old WAL left beside the new file would be replayed into it
        os.replace(partial, target)
    finally:
        _remove(partial)
    _fsync_dir(target.parent)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
