"""The database a Store works on: its engine, its write transactions and how they are committed.

`Database` is the base of every part of the Store (homes, readings, market, clearings, outbox):
each part adds the queries of one responsibility and runs them through the three kinds of
transaction defined here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Self, TypeVar

from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hub.store import migrations
from hub.store.connections import (
    DEFAULT_DB_URL,
    SQLITE_WRITE,
    async_url,
    is_sqlite_file,
    sqlite_begin,
    sqlite_connect,
)
from hub.store.group_commit import GroupCommit

MIGRATION_LOCK = 0x6772_6964_6D69_6772  # a PostgreSQL advisory lock key held while migrating
CONCURRENT_WRITES = 10  # PostgreSQL request writes in flight per process (the pool holds 15)
T = TypeVar("T")


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite allows one writer; serialising writers in-process avoids "database is locked".
        self._write_lock = asyncio.Lock()
        self._group_commit: GroupCommit | None = None
        # PostgreSQL: request writes beyond this wait here, not in the connection pool (which
        # gives up after 30 s) and not holding connections that reads and the clearing need.
        self._concurrent_writes = asyncio.Semaphore(CONCURRENT_WRITES)

    @classmethod
    async def open(cls, url: str = DEFAULT_DB_URL) -> Self:
        """Connect, and create or migrate the schema (one process at a time)."""
        engine = create_async_engine(async_url(url))
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", sqlite_connect)
            event.listen(engine.sync_engine, "begin", sqlite_begin)
        database = cls(engine)
        try:
            async with database._write() as conn:
                if not database.is_sqlite:  # workers starting together migrate one at a time
                    await conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                await conn.run_sync(migrations.upgrade)
        except BaseException:
            await engine.dispose()  # a refused database must not leave connections open
            raise
        if is_sqlite_file(engine.url):
            database._group_commit = GroupCommit(
                engine.url.set(drivername="sqlite"), database._write_lock
            )
        return database

    async def close(self) -> None:
        group_commit, self._group_commit = self._group_commit, None  # closing twice is fine
        if group_commit is not None:
            await group_commit.close()
        await self._engine.dispose()

    async def _hot_write(self, work: Callable[[Connection], T]) -> T:
        """One short write transaction of the request path (readings, bids, request sequences).

        SQLite: committed together with whatever else is waiting (GroupCommit). PostgreSQL: its
        own transaction without the in-process lock; row locks keep concurrent ones apart, and
        PostgreSQL commits concurrent transactions with one WAL flush by itself."""
        if self._group_commit is not None:
            return await self._group_commit.run(work)
        if self.is_sqlite:  # an in-memory database: only the async engine's connection sees it
            async with self._write() as conn:
                return await conn.run_sync(work)
        async with self._concurrent_writes, self._engine.connect() as conn, conn.begin():
            return await conn.run_sync(work)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction. On SQLite it starts with BEGIN IMMEDIATE: it takes the write lock
        before reading, so another process can never slip a change between our read and write."""
        async with self._write_lock, self._engine.connect() as conn:
            conn = await conn.execution_options(**{SQLITE_WRITE: True})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            yield conn
