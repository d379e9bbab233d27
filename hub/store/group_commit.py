"""Many requests' short SQLite write transactions, committed as one (see GroupCommit)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import URL, RootTransaction

from hub.store.connections import SQLITE_WRITE, sqlite_begin, sqlite_connect

GROUP_COMMIT_MAX = 200  # writes per SQLite transaction: bounds how long one holds the lock
GROUP_COMMIT_YIELD = 16  # writes run between two yields to the event loop (a few ms)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


class GroupCommit:
    """Short SQLite write transactions of many requests, committed as one.

    Each request's write (a function of a sync Connection) waits in a queue; one flusher takes
    everything queued once it holds the writer lock and runs it in a single transaction, each
    write in a savepoint: a write that raises leaves nothing behind and the others still
    commit. Callers hear their outcome only after the commit (an acknowledged write is durable)
    and see the same result as if the writes had run one after another. Why: every commit waits
    for an fsync, and aiosqlite costs several thread hops per statement; here a whole queue
    costs two hops and one fsync.
    """

    def __init__(self, url: URL, write_lock: asyncio.Lock) -> None:
        # Opened and committed on the writer thread, written to on the event loop (never both
        # at once: the writer lock is held throughout).
        self._engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(self._engine, "connect", sqlite_connect)
        event.listen(self._engine, "begin", sqlite_begin)
        self._lock = write_lock
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="gridcoop-writer")
        self._queue: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Connection], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="gridcoop-group-commit")
        return await future

    async def _flush(self) -> None:
        while self._queue:
            async with self._lock:  # what queues while we wait joins this transaction
                batch = self._queue[:GROUP_COMMIT_MAX]
                del self._queue[:GROUP_COMMIT_MAX]
                outcomes = await self._transaction([work for work, _future in batch])
            for (_work, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the caller gave up waiting
                    continue
                if isinstance(outcome, _Failed):
                    future.set_exception(outcome.error)
                else:
                    future.set_result(outcome)

    async def _transaction(self, works: list[Callable[[Connection], Any]]) -> list[Any]:
        """BEGIN and COMMIT on the writer thread: they may wait for another process's lock
        and for the disk. The writes themselves run here: sqlite3 lets go of the GIL for every
        statement, and a thread taking it back from a busy event loop waits up to a switch
        interval (5 ms) each time."""
        loop = asyncio.get_running_loop()
        try:
            conn, transaction = await loop.run_in_executor(self._thread, self._begin)
        except Exception as err:
            return [_Failed(err)] * len(works)
        try:
            if len(works) == 1:  # alone, the transaction is its savepoint
                outcomes = [_outcome(conn, works[0])]
                commit = not isinstance(outcomes[0], _Failed)
            else:
                outcomes = []
                for n, work in enumerate(works, 1):
                    outcomes.append(_in_savepoint(conn, work))
                    if n % GROUP_COMMIT_YIELD == 0:  # a long queue: let requests in between
                        await asyncio.sleep(0)
                commit = True
            await loop.run_in_executor(self._thread, _finish, conn, transaction, commit)
        except BaseException as err:  # none of it is stored
            conn.close()  # rolls back what is left and gives the database's write lock back
            if not isinstance(err, Exception):  # cancelled
                raise
            return [_Failed(err)] * len(works)
        return outcomes

    def _begin(self) -> tuple[Connection, RootTransaction]:
        conn = self._engine.connect().execution_options(**{SQLITE_WRITE: True})
        try:
            return conn, conn.begin()
        except BaseException:
            conn.close()
            raise

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)  # what was acknowledged as queued gets written
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()


def _outcome(conn: Connection, work: Callable[[Connection], Any]) -> Any:
    try:
        return work(conn)
    except Exception as err:
        return _Failed(err)


def _finish(conn: Connection, transaction: RootTransaction, commit: bool) -> None:
    try:
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
    finally:
        conn.close()


def _in_savepoint(conn: Connection, work: Callable[[Connection], Any]) -> Any:
    # Plain SQL: SQLAlchemy's savepoints compile a new statement each time.
    conn.exec_driver_sql("SAVEPOINT gridcoop_write")
    outcome = _outcome(conn, work)
    if isinstance(outcome, _Failed):
        conn.exec_driver_sql("ROLLBACK TO gridcoop_write")
    conn.exec_driver_sql("RELEASE gridcoop_write")
    return outcome
