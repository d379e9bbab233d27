"""Schema migrations.

A fresh database gets the current schema from `schema.metadata` and is stamped with the latest
version; an existing one gets every migration above its recorded version, in order, each in the
same transaction as its version bump. Add a migration by appending to MIGRATIONS *and* changing
schema.py, so fresh and migrated databases end up identical (a test checks that).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select

from hub.store import schema

Migration = Callable[[Connection], None]


def _v2_settings(conn: Connection) -> None:
    """Operator settings edited at runtime (tariffs, fee, k) from the admin area."""
    schema.settings.create(conn)


def _v3_ledger(conn: Connection) -> None:
    """The ledger: blocks, entries, validators and the guard tables (see docs/ledger.md)."""
    schema.metadata.create_all(conn, tables=list(schema.LEDGER_TABLES))


# version -> migration that brings the schema from version-1 to version.
MIGRATIONS: dict[int, Migration] = {
    2: _v2_settings,
    3: _v3_ledger,
}


def latest_version() -> int:
    return 1 + len(MIGRATIONS)


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    return conn.execute(select(schema.schema_version.c.version)).scalar_one_or_none()


def upgrade(conn: Connection) -> int:
    """Bring the database to the latest version; returns the version it was at (0 when fresh)."""
    version = current_version(conn)
    if version is None:
        schema.metadata.create_all(conn)
        conn.execute(schema.schema_version.insert().values(version=latest_version()))
        return 0
    if version > latest_version():
        raise RuntimeError(
            f"database schema version {version} is newer than this hub ({latest_version()}); "
            "upgrade the hub"
        )
    for target in range(version + 1, latest_version() + 1):
        MIGRATIONS[target](conn)
        conn.execute(schema.schema_version.update().values(version=target))
    return version
