"""The ledger's BLS key in backups: where it is, whether it is the chain's, and copying it.

The key file (`[ledger] key_file`, default gridcoop-ledger.key, relative to the directory the
hub starts in, as the hub resolves it) is the hub's validator secret: whoever holds it can sign
blocks as the hub. It is not in the database, and a backup copies it only when asked
(--include-ledger-key): a database backup often travels further (another disk, a cloud
bucket) than a secret should. Without it a restored hub does not start: `serve` refuses a chain
whose key file is missing or another one (hub.startup.check_ledger), since blocks sealed with
any other key would not verify.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gridcoop_home.ledger.bls import get_backend, secret_key_from_text

from hub.config import HubConfig
from hub.ops.database import OpsError

SECRET_WARNING = (
    "WARNING: {path} is the ledger's secret key: whoever holds it can sign blocks as the hub. "
    "Keep it apart from ordinary backups (owner-only, mode 0600), offline if you can."
)


@dataclass(frozen=True, slots=True)
class KeyReport:
    path: Path
    exists: bool
    matches_chain: bool | None  # None: not compared, for the reason in `unchecked`
    unchecked: str = "no ledger chain in the database to compare it with"

    def describe(self) -> str:
        if not self.exists:
            return f"ledger key: {self.path} does not exist"
        verdict = {
            True: "it is the chain's validator 0 (the hub)",
            False: "it is NOT the key of this chain's validator 0: the hub would seal blocks "
            "that fail verification",
            None: self.unchecked,
        }[self.matches_chain]
        return f"ledger key: {self.path}: {verdict}"


def key_path(config: HubConfig) -> Path:
    """Where the hub finds its key: `[ledger] key_file`, relative to the working directory."""
    return Path(config.ledger.key_file).absolute()


def report(config: HubConfig, database: Path | None) -> KeyReport:
    """Where the key is and whether it is the chain's; `database`: a SQLite file (None for
    PostgreSQL, where it is not compared)."""
    path = key_path(config)
    if not path.is_file():
        return KeyReport(path, False, None)
    if database is None:
        return KeyReport(path, True, None, "not compared with the chain on PostgreSQL")
    chain_key = _validator_zero(database)
    if chain_key is None:
        return KeyReport(path, True, None)
    return KeyReport(path, True, _public_key(path) == chain_key)


def copy_key(source: Path, target: Path) -> None:
    """Copy the key file to `target`, owner-only (0600), refusing to overwrite one."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise OpsError(f"{target} already exists; not overwriting a key file") from err
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())


def _validator_zero(database: Path) -> str | None:
    try:
        conn = sqlite3.connect(database.absolute().as_uri() + "?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT public_key FROM ledger_validators WHERE idx = 0").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def _public_key(path: Path) -> str | None:
    try:
        secret = secret_key_from_text(json.loads(path.read_text())["bls_secret_key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or not a key file: it cannot be the chain's key
    return get_backend("auto").secret_to_public(secret).hex()
