"""Leadership: of all the hub processes serving one database, exactly one clears the market and
seals the ledger (docs/hub/scale_out.md).

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a dedicated connection.
  When the leader dies, even by SIGKILL, PostgreSQL drops its connection and with it the lock;
  a follower polling every `poll_seconds` takes over.
- SQLite (one process is the supported mode): an exclusive `flock` on `<database>.leader`, which
  the kernel releases when the process dies. A second process on the same file stays a follower
  and never clears.
- `SoleLeader`: always the leader (in-process tests, `create_app` without a leadership).

Leadership is a liveness device, not the safety net: the interval primary key makes a clearing
exactly-once and the block height primary key makes a seal exactly-once, whoever tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy.engine import make_url

from hub.server.errors import Handler, error_response

_LOGGER = logging.getLogger(__name__)
NOT_LEADER = "not_leader"
# Any fixed 64-bit number: the advisory lock every GridCoop hub process on a database competes for.
ADVISORY_LOCK_KEY = 0x6772_6964_636F_6F70 & 0x7FFF_FFFF_FFFF_FFFF  # "gridcoop"


class Leadership(Protocol):
    async def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this process leads (now or already)."""
        ...

    async def holds(self) -> bool:
        """Whether this process still leads (False once the lock or its connection is gone)."""
        ...

    async def release(self) -> None: ...


class SoleLeader:
    """The only process there is: always the leader."""

    async def try_acquire(self) -> bool:
        return True

    async def holds(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class FileLock:
    """An exclusive, non-blocking flock on a file next to the SQLite database."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def holds(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


class AdvisoryLock:
    """`pg_try_advisory_lock` on a connection of its own, kept open while leading."""

    def __init__(self, dsn: str, key: int = ADVISORY_LOCK_KEY, timeout: float = 5.0) -> None:
        self._dsn = dsn
        self._key = key
        self._timeout = timeout
        self._conn: Any = None  # asyncpg.Connection while leading

    async def try_acquire(self) -> bool:
        if self._conn is not None:
            return await self.holds()
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(self._dsn, timeout=self._timeout)
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def holds(self) -> bool:
        """The lock lives as long as its session: a live connection still holds it."""
        if self._conn is None:
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=self._timeout)
        except Exception:  # connection lost (database restarted, network, timeout)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), self._timeout)
            conn.terminate()


def asyncpg_dsn(db_url: str) -> str:
    """The plain libpq URL asyncpg wants, from any PostgreSQL SQLAlchemy URL."""
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def leadership_for(db_url: str) -> Leadership:
    """The leadership a `serve` process on this database competes for."""
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(asyncpg_dsn(db_url))
    database = url.database
    if not database or database == ":memory:":
        return SoleLeader()
    return FileLock(Path(f"{database}.leader"))


class Election:
    """Competes for leadership and runs `lead` while this process leads.

    `on_elected` runs first (catch up with what the previous leader wrote), then `lead` (the
    clearing loop) until leadership is lost or the election stops; `on_deposed` after a loss.
    """

    def __init__(
        self,
        leadership: Leadership,
        lead: Callable[[], Coroutine[Any, Any, None]],
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        poll_seconds: float = 1.0,
    ) -> None:
        self._leadership = leadership
        self._lead = lead
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._poll = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self._step()
                except Exception:  # database unreachable: keep trying, never die
                    _LOGGER.exception("leader election step failed")
                    await self._step_down()
                await asyncio.sleep(self._poll)
        finally:
            await self._stop_leading()
            await self._leadership.release()

    async def _step(self) -> None:
        if self.is_leader:
            if not await self._leadership.holds():
                _LOGGER.warning("leadership lost")
                await self._step_down()
            elif self._task is not None and self._task.done():
                self._task = asyncio.create_task(self._lead(), name="gridcoop-lead")
            return
        if not await self._leadership.try_acquire():
            return
        _LOGGER.info("elected leader: clearing and sealing from now on")
        try:
            await self._on_elected()
        except BaseException:
            await self._leadership.release()
            raise
        self.is_leader = True
        self._task = asyncio.create_task(self._lead(), name="gridcoop-lead")

    async def _step_down(self) -> None:
        was_leader = self.is_leader
        await self._stop_leading()
        await self._leadership.release()
        if was_leader:
            await self._on_deposed()

    async def _stop_leading(self) -> None:
        self.is_leader = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


ELECTION = web.AppKey("election", Election)
# What only the leader may do: its order books and its ledger state are the ones that count.
LEADER_ONLY = (
    ("POST", "/api/v1/orders"),
    ("DELETE", "/api/v1/orders/"),
    ("POST", "/api/v1/ledger/"),
    ("PUT", "/api/v1/admin/settings"),
)


def leads(app: web.Application) -> bool:
    election = app.get(ELECTION)
    return election is None or election.is_leader


@web.middleware
async def leader_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Followers refuse what only the leader may do: 503 `not_leader` (retry; a reverse proxy
    can route these to the worker whose GET /health/leader answers 200)."""
    if not leads(request.app) and any(
        request.method == method and request.path.startswith(prefix)
        for method, prefix in LEADER_ONLY
    ):
        response = error_response(
            503,
            NOT_LEADER,
            "this worker does not lead: continuous orders, ledger writes and settings go to the "
            "leader (GET /health/leader answers 200 there)",
        )
        response.headers["Retry-After"] = "1"
        return response
    return await handler(request)


leader_routes = web.RouteTableDef()


@leader_routes.get("/health/leader")
async def leader_health(request: web.Request) -> web.Response:
    """200 on the worker that clears and seals, 503 on the others (for reverse-proxy checks)."""
    leader = leads(request.app)
    return web.json_response({"leader": leader}, status=200 if leader else 503)
