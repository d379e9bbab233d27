"""Schema migrations.

A fresh database gets the current schema from `schema.metadata` and is stamped with the latest
version; an existing one gets every migration above its recorded version, in order, each in the
same transaction as its version bump. Add a migration by appending to MIGRATIONS *and* changing
schema.py, so fresh and migrated databases end up identical (a test checks that).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, Connection, inspect, select, text
from sqlalchemy.schema import CreateColumn

from hub.store import schema

Migration = Callable[[Connection], None]


def _v2_settings(conn: Connection) -> None:
    """Operator settings edited at runtime (tariffs, fee, k) from the admin area."""
    schema.settings.create(conn)


def _v3_ledger(conn: Connection) -> None:
    """The ledger: blocks, entries, validators and the guard tables (see docs/ledger.md)."""
    schema.metadata.create_all(conn, tables=list(schema.LEDGER_TABLES))


def _v4_market_modes(conn: Connection) -> None:
    """Network-aware clearing (how each interval cleared, binding limits, nodal prices,
    curtailment) and the continuous market's order log (see docs/feeder.md)."""
    for column in (
        schema.intervals.c.method,
        schema.intervals.c.fallback_reason,
        schema.intervals.c.congestion_rent_mminor,
        schema.intervals.c.binding,
        schema.intervals.c.network,
        schema.allocations.c.curtailed_buy_wh,
        schema.allocations.c.curtailed_sell_wh,
    ):
        _add_column(conn, column)
    schema.order_events.create(conn, checkfirst=True)


def _v5_scale_out(conn: Connection) -> None:
    """Several workers (docs/hub/scale_out.md): readings carry the ledger block that recorded them
    (those below the old reading cursor count as recorded) and an outbox for WebSocket pushes."""
    _add_column(conn, schema.readings.c.recorded_height)
    cursor = conn.execute(
        select(schema.ledger_meta.c.value).where(schema.ledger_meta.c.name == "reading_cursor")
    ).scalar_one_or_none()
    if cursor is not None:
        conn.execute(
            schema.readings.update()
            .where(schema.readings.c.reading_id <= int(cursor))
            .values(recorded_height=-1)
        )
    schema.unrecorded_readings_index.create(conn, checkfirst=True)
    schema.hub_events.create(conn, checkfirst=True)


def _v6_equivocations(conn: Connection) -> None:
    """Equivocation proofs the ledger received (docs/ledger.md#verify-and-witness)."""
    schema.ledger_equivocations.create(conn, checkfirst=True)


def _v7_grid_limits(conn: Connection) -> None:
    """The grid operator's limit on a home's import/export, sent with its allocation (issue 19)."""
    _add_column(conn, schema.allocations.c.grid_limit)


def _add_column(conn: Connection, column: Column[object]) -> None:
    """ALTER TABLE ... ADD COLUMN with the column exactly as schema.py defines it (a column that
    is already there is left alone, so a half-known database cannot stop the upgrade)."""
    present = {c["name"] for c in inspect(conn).get_columns(column.table.name)}
    if column.name in present:
        return
    definition = CreateColumn(column).compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {column.table.name} ADD COLUMN {definition}"))


# version -> migration that brings the schema from version-1 to version.
MIGRATIONS: dict[int, Migration] = {
    2: _v2_settings,
    3: _v3_ledger,
    4: _v4_market_modes,
    5: _v5_scale_out,
    6: _v6_equivocations,
    7: _v7_grid_limits,
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
