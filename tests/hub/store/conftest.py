"""Store fixtures parametrised over SQLite and PostgreSQL, so every store test runs on both.

SQLite gets a fresh file in tmp_path for every test. PostgreSQL gets two databases for the whole
session (unique names, dropped at the end): one kept at the latest schema whose rows are deleted
before each test (`db_url`, fast), and one whose schema is wiped before each test for the
migration tests (`empty_db_url`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.store import Store, schema
from hub.store import engine as engine_module
from tests.hub.databases import create_postgres_database, drop_postgres_database, execute
from tests.hub.store.factories import OpenStore

SQLITE, POSTGRES = "sqlite", "postgres"


@pytest.fixture(scope="session")
def pg_database_factory() -> Iterator[Callable[[], str]]:
    """Creates uniquely named databases; drops all of them when the session ends."""
    created: list[str] = []

    def create() -> str:
        name, url = create_postgres_database("store")
        created.append(name)
        return url

    yield create
    for name in created:
        drop_postgres_database(name)


@pytest.fixture(scope="session")
def pg_store_database(pg_database_factory: Callable[[], str]) -> str:
    url = pg_database_factory()

    async def create_schema() -> None:
        await (await Store.open(url)).close()

    asyncio.run(create_schema())
    return url


@pytest.fixture(scope="session")
def pg_empty_database(pg_database_factory: Callable[[], str]) -> str:
    return pg_database_factory()


@pytest.fixture(params=[pytest.param(SQLITE), pytest.param(POSTGRES, marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# The session fixtures use asyncio.run, so they are resolved from these sync fixtures (no event
# loop running yet); the async fixtures below then reset the database inside the test's loop.


@pytest.fixture
def _store_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == SQLITE:
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return str(request.getfixturevalue("pg_store_database"))


@pytest.fixture
def _empty_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == SQLITE:
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return str(request.getfixturevalue("pg_empty_database"))


@pytest.fixture
async def db_url(_store_target: str) -> str:
    """A database at the latest schema with no rows in it."""
    if _store_target.startswith("postgresql"):
        tables = [t.name for t in reversed(schema.metadata.sorted_tables)]
        await execute(
            _store_target,
            *(f'DELETE FROM "{name}"' for name in tables if name != "schema_version"),
        )
    return _store_target


@pytest.fixture
async def empty_db_url(_empty_target: str) -> str:
    """A database without any table (what a first start of the hub finds)."""
    if _empty_target.startswith("postgresql"):
        await execute(_empty_target, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
    return _empty_target


@pytest.fixture
async def open_store(db_url: str) -> AsyncIterator[OpenStore]:
    """Open (or reopen: a hub restart) a Store on the test database; all closed at the end."""
    opened: list[Store] = []

    async def _open() -> Store:
        store = await Store.open(db_url)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()


@pytest.fixture
async def engines(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[AsyncEngine]]:
    """Every engine Store.open creates during the test; all disposed at the end, so a Store.open
    that fails half-way does not leak connections into later tests."""
    created: list[AsyncEngine] = []

    def recording(*args: Any, **kwargs: Any) -> AsyncEngine:
        engine = create_async_engine(*args, **kwargs)
        created.append(engine)
        return engine

    monkeypatch.setattr(engine_module, "create_async_engine", recording)
    yield created
    for engine in created:
        await engine.dispose()
