"""Scale-out fixtures: throwaway PostgreSQL databases and real `python -m hub` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from tests.hub.scale.support import Processes

# In-process hubs over SQLite with a fake clock (every answer checked against the API document).
from tests.hub.server.conftest import clock, hub, make_hub

__all__ = ["clock", "hub", "make_hub"]

PG_ADMIN_DSN = os.environ.get("GRIDCOOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _pg(statement: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (skips the test when there is no server)."""
    name = f"gridcoop_scale_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        pytest.skip(f"PostgreSQL not available at {PG_ADMIN_DSN}: {err}")
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Hub processes started by the test; whatever still runs is stopped at the end."""
    started = Processes()
    yield started
    for process in started.all:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started.all:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
