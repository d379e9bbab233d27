"""Schema versions: fresh databases are stamped, old ones migrated, newer ones refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.store import Store, migrations, schema
from hub.store.store import async_url
from tests.hub.store import schema_v1
from tests.hub.store.factories import (
    NOW,
    OpenStore,
    column_names,
    enrol_home,
    index_names,
    run_sql,
    schema_signature,
    table_names,
    wipe,
)

LATEST = migrations.latest_version()
REAL_MIGRATIONS = dict(migrations.MIGRATIONS)


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """Every test here starts from a database without any table."""
    return empty_db_url


def add_note_column(conn: Connection) -> None:
    """A realistic next migration: a new nullable column and an index."""
    conn.execute(text("ALTER TABLE homes ADD COLUMN note VARCHAR(200)"))
    conn.execute(text("CREATE INDEX ix_readings_ts ON readings (ts)"))


async def versions(db_url: str) -> list[int]:
    return [int(str(row[0])) for row in await run_sql(db_url, "SELECT version FROM schema_version")]


async def create_v1_database(db_url: str) -> None:
    """A database exactly as the first release left it, with one home in it."""
    engine = create_async_engine(async_url(db_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(schema_v1.metadata.create_all)
            await conn.execute(schema_v1.schema_version.insert().values(version=1))
            await conn.execute(
                schema_v1.homes.insert().values(
                    home_id="a1b2c3d4e5f60718", name="No. 7", bus=None, created_at=NOW
                )
            )
    finally:
        await engine.dispose()


def test_migration_versions_run_contiguously_from_2_to_the_latest() -> None:
    assert sorted(migrations.MIGRATIONS) == list(range(2, LATEST + 1))


async def test_a_fresh_database_gets_every_table_and_the_latest_version(
    store: Store, db_url: str
) -> None:
    assert await table_names(db_url) == set(schema.metadata.tables)
    assert await versions(db_url) == [LATEST]


async def test_reopening_an_up_to_date_database_is_a_no_op(
    open_store: OpenStore, db_url: str
) -> None:
    first = await open_store()
    home = await enrol_home(first)
    await first.close()

    reopened = await open_store()

    assert await versions(db_url) == [LATEST]
    assert [h.home_id for h in await reopened.list_homes()] == [home.home_id]


async def test_upgrade_reports_the_version_it_found(store: Store, db_url: str) -> None:
    engine = create_async_engine(async_url(db_url))
    try:
        async with engine.begin() as conn:
            found = await conn.run_sync(migrations.upgrade)
    finally:
        await engine.dispose()

    assert found == LATEST  # not 0: nothing was created again


async def test_a_real_v1_database_is_migrated_to_exactly_the_fresh_schema(
    open_store: OpenStore, db_url: str
) -> None:
    fresh = await open_store()
    await fresh.close()
    fresh_schema = await schema_signature(db_url)
    await wipe(db_url)
    await create_v1_database(db_url)

    migrated = await open_store()

    assert await versions(db_url) == [LATEST]
    assert await schema_signature(db_url) == fresh_schema
    assert [(h.home_id, h.name) for h in await migrated.list_homes()] == [
        ("a1b2c3d4e5f60718", "No. 7")
    ]


async def test_a_migrated_v1_database_works_like_a_fresh_one(
    open_store: OpenStore, db_url: str
) -> None:
    await create_v1_database(db_url)

    store = await open_store()
    home = await enrol_home(store, "No. 9", now=NOW + 1)
    await store.put_setting("fee_per_kwh", 2, NOW)

    assert await store.get_settings() == {"fee_per_kwh": 2}
    assert [h.name for h in await store.list_homes()] == ["No. 7", "No. 9"]
    assert await store.accept_sequence(home.home_key.key_id, 1, "request") is True


async def test_a_database_written_by_a_newer_hub_is_refused(
    open_store: OpenStore, db_url: str, engines: list[AsyncEngine]
) -> None:
    await (await open_store()).close()
    await run_sql(db_url, f"UPDATE schema_version SET version = {LATEST + 1}")

    expected = (
        f"database schema version {LATEST + 1} is newer than this hub ({LATEST}); upgrade the hub"
    )
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        await Store.open(db_url)

    assert await versions(db_url) == [LATEST + 1]


async def test_an_older_database_is_migrated_and_stamped(
    open_store: OpenStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = await open_store()
    home = await enrol_home(current)
    await current.close()
    ran: list[int] = []

    def next_version(conn: Connection) -> None:
        ran.append(LATEST + 1)
        add_note_column(conn)

    monkeypatch.setattr(migrations, "MIGRATIONS", {**REAL_MIGRATIONS, LATEST + 1: next_version})

    migrated = await open_store()

    assert ran == [LATEST + 1]
    assert await versions(db_url) == [LATEST + 1]
    assert "note" in await column_names(db_url, "homes")
    assert "ix_readings_ts" in await index_names(db_url, "readings")
    assert [h.home_id for h in await migrated.list_homes()] == [home.home_id]
    await migrated.close()

    await open_store()  # the next start finds nothing to do

    assert ran == [LATEST + 1]
    assert await versions(db_url) == [LATEST + 1]


async def test_pending_migrations_run_in_order_from_the_recorded_version(
    open_store: OpenStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await (await open_store()).close()
    ran: list[int] = []

    def recorder(version: int) -> migrations.Migration:
        return lambda conn: ran.append(version)

    later = {v: recorder(v) for v in (LATEST + 3, LATEST + 1, LATEST + 2)}
    monkeypatch.setattr(migrations, "MIGRATIONS", {**REAL_MIGRATIONS, **later})
    await run_sql(db_url, f"UPDATE schema_version SET version = {LATEST + 1}")

    await open_store()

    assert ran == [LATEST + 2, LATEST + 3]
    assert await versions(db_url) == [LATEST + 3]


async def test_a_fresh_database_is_created_at_the_latest_version_without_migrating(
    open_store: OpenStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    monkeypatch.setattr(
        migrations, "MIGRATIONS", {**REAL_MIGRATIONS, LATEST + 1: lambda conn: ran.append(1)}
    )

    await open_store()

    assert ran == []
    assert await versions(db_url) == [LATEST + 1]


async def test_a_failing_migration_leaves_schema_and_version_as_they_were(
    open_store: OpenStore,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    engines: list[AsyncEngine],
) -> None:
    await (await open_store()).close()

    def broken(conn: Connection) -> None:
        add_note_column(conn)
        raise RuntimeError("disk full halfway through the migration")

    monkeypatch.setattr(migrations, "MIGRATIONS", {**REAL_MIGRATIONS, LATEST + 1: broken})
    with pytest.raises(RuntimeError, match="disk full"):
        await Store.open(db_url)

    assert await versions(db_url) == [LATEST]
    assert "note" not in await column_names(db_url, "homes")

    fixed = {**REAL_MIGRATIONS, LATEST + 1: add_note_column}  # the fixed release
    monkeypatch.setattr(migrations, "MIGRATIONS", fixed)
    await open_store()

    assert await versions(db_url) == [LATEST + 1]


async def test_a_refused_database_leaves_no_connection_open(
    open_store: OpenStore, db_url: str, engines: list[AsyncEngine]
) -> None:
    await (await open_store()).close()
    await run_sql(db_url, "UPDATE schema_version SET version = 99")

    with pytest.raises(RuntimeError, match="newer than this hub"):
        await Store.open(db_url)

    refused = engines[-1]
    assert refused.pool.checkedout() == 0
    assert refused.pool.checkedin() == 0  # nothing idle either: the engine was disposed
