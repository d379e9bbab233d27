"""`gridcoop-hub backup PATH` and `gridcoop-hub restore PATH`: safe while the hub runs.

backup: SQLite through the online backup API (hub.ops.sqlite_copy: the WAL included, one
consistent snapshot, one self-contained file); PostgreSQL through `pg_dump` when it is on PATH,
else the command to run. The ledger's key is reported, and copied only with
--include-ledger-key (hub.ops.ledger_key).

restore: refuses a database that a running hub has open, and an existing one without --force;
then runs the chain check of `gridcoop-hub verify` on the restored database and reports it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from hub.config import HubConfig, load_config
from hub.ops import ledger_key, sqlite_copy
from hub.ops.database import OpsError, sqlite_path
from hub.startup import check_database

EXIT_VERIFY_FAILED = 1


def run_backup(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    key = ledger_key.key_path(config)
    if args.include_ledger_key and not key.is_file():
        raise OpsError(f"--include-ledger-key: no key file at {key} ([ledger] key_file)")
    source = sqlite_path(args.db)
    if source is None:
        target = _backup_target(args.path, args.force, ".dump")
        if not _pg_dump(args.db, target):
            print(f"  ledger key: {key} (a secret: keep a copy of it apart)")
            return 0
        print(f"  {ledger_key.report(config, None).describe()}")
    else:
        check_database(args.db, must_exist=True)
        target = _backup_target(args.path, args.force, ".db")
        if target.exists():  # --force: replaced only once the new copy is complete
            print(f"replacing {target}")
        sqlite_copy.online_copy(source, target)
        print(f"backup of {source.absolute()} written to {target}")
        print(f"  {sqlite_copy.contents(target).describe()}")
        print(f"  {ledger_key.report(config, target).describe()}")
    _handle_key(key, target, args.include_ledger_key)
    return 0


def _handle_key(key: Path, target: Path, include: bool) -> None:
    if include:
        copied = Path(f"{target}.ledger-key")
        ledger_key.copy_key(key, copied)
        print(f"  ledger key copied to {copied}")
        print(ledger_key.SECRET_WARNING.format(path=copied))
    elif key.is_file():
        print(
            "  the key is not in the backup (it is a secret): keep a copy of it apart, "
            "or run again with --include-ledger-key"
        )


def _backup_target(given: str, force: bool, suffix: str) -> Path:
    path = Path(given)
    if given.endswith(("/", os.sep)) and not path.is_dir():
        raise OpsError(f"no directory {path.absolute()} for the backup: create it first")
    if path.is_dir():
        return path / time.strftime(f"gridcoop-hub-%Y%m%dT%H%M%SZ{suffix}", time.gmtime())
    if not path.parent.is_dir():
        raise OpsError(f"no directory {path.parent.absolute()} for the backup")
    if path.exists() and not force:
        raise OpsError(f"{path} already exists; give another name, or --force to replace it")
    return path


def _pg_dump(db_url: str, target: Path) -> bool:
    """PostgreSQL: pg_dump's custom format, consistent while the hub writes (one snapshot).
    False when pg_dump is not on PATH: then the commands to run are printed instead."""
    dsn = make_url(db_url).set(drivername="postgresql")
    shown = dsn.render_as_string(hide_password=True)
    command = ["pg_dump", "--format=custom", "--file", str(target)]
    if shutil.which("pg_dump") is None:
        print("PostgreSQL is backed up with its own tool; pg_dump is not on PATH here. Run:")
        print(f"  pg_dump --format=custom --file {target} '{shown}'")
        print("Restore into an empty database with pg_restore, then check the chain:")
        print(f"  pg_restore --dbname '{shown}' {target}")
        print(f"  gridcoop-hub verify --db '{shown}'")
        return False
    env = dict(os.environ)
    if dsn.password is not None:  # not on the command line, where `ps` shows it
        env["PGPASSWORD"] = str(dsn.password)
    url = dsn.set(password=None).render_as_string(hide_password=False)
    print(f"running: {' '.join(command)} '{shown}'")
    done = subprocess.run([*command, url], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OpsError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")
    print(f"backup written to {target} (pg_dump custom format; restore with pg_restore)")
    return True


def run_restore(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    backup = Path(args.path)
    target = sqlite_path(args.db)
    if target is None:
        raise OpsError(
            "restore writes SQLite databases; for PostgreSQL use pg_restore into an empty "
            "database, then `gridcoop-hub verify --db URL` (see docs/hub/operations.md)"
        )
    found = sqlite_copy.check_backup_file(backup)
    if target.absolute() == backup.absolute():
        raise OpsError("the backup and the database to restore are the same file")
    if target.exists():
        if not args.force:
            raise OpsError(
                f"{target.absolute()} already exists; stop the hub and give --force to replace it"
            )
        if sqlite_copy.in_use(target):
            raise OpsError(
                f"{target.absolute()} is open in another process (a running hub?); stop it first"
            )
    elif not target.absolute().parent.is_dir():
        raise OpsError(f"no directory {target.absolute().parent} for the database")
    sqlite_copy.replace_database(backup, target)
    print(f"restored {backup} to {target.absolute()}")
    print(f"  {found.describe()}")
    print(f"  {ledger_key.report(config, target).describe()}")
    return _verify(args.db, found, config)


def _verify(db_url: str, found: sqlite_copy.Contents, config: HubConfig) -> int:
    if not found.counts.get("ledger_blocks"):
        print(
            "no ledger chain in this database (the hub ran without the ledger): nothing to verify"
        )
        return 0
    # The very check `gridcoop-hub verify --db` runs (hub.cli owns it).
    from hub.cli import _verify_db

    print(f"verifying the chain (as `gridcoop-hub verify --db {db_url}`):")
    status = asyncio.run(_verify_db(db_url, config.ledger.bls_backend, True, []))
    if status != 0:
        print("the restored chain does NOT verify; keep the hub stopped and look at the report")
        return EXIT_VERIFY_FAILED
    return 0
