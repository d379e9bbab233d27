"""Throwaway databases for tests that must run on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

PG_ADMIN_DSN = os.environ.get("GRIDCOOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


async def execute(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def create_postgres_database(prefix: str) -> tuple[str, str]:
    """A uniquely named empty database: (name, URL). Skips the test when PostgreSQL is down."""
    name = f"gridcoop_{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(execute(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        pytest.skip(f"PostgreSQL not available at {PG_ADMIN_DSN}: {err}")
    return name, f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


def drop_postgres_database(name: str) -> None:
    asyncio.run(execute(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    name, url = create_postgres_database(prefix)
    try:
        yield url
    finally:
        drop_postgres_database(name)


@contextmanager
def fresh_database(backend: str, tmp_path: Path, prefix: str) -> Iterator[str]:
    """A fresh empty database URL: a SQLite file in tmp_path, or a throwaway PostgreSQL one."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{prefix}.db'}"
        return
    with throwaway_postgres(prefix) as url:
        yield url
