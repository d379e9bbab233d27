"""WebSocket pushes across workers: PostgreSQL LISTEN/NOTIFY over an outbox table.

The leader's market code publishes through `OutboxPublisher`: each message (interval cleared,
allocation, trade, fill) becomes a `hub_events` row, and the transaction NOTIFYs the channel with
the last event id (NOTIFY payloads are limited to 8000 bytes, so messages never travel in them).
Every worker runs an `EventRelay`: a dedicated asyncpg connection LISTENs, and on each
notification (or every `poll_seconds`, in case one was missed while reconnecting) the relay reads
the rows after its cursor and pushes them to its own local publisher (the worker's WebSocket
Broadcaster).

Pushes are best effort, as in one process: a message written after a crash is not re-sent, and a
client that reconnects reads the results over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hub.service.ports import Clock, Publisher
from hub.store import Store

_LOGGER = logging.getLogger(__name__)
CHANNEL = "gridcoop_events"
KEEP_EVENTS_MS = 3600 * 1000  # outbox rows older than this are pruned by the leader
PRUNE_EVERY_SECONDS = 600


class OutboxPublisher:
    """A Publisher that writes to the outbox; messages queued together go in one transaction."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._queue: list[tuple[str | None, dict[str, Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    async def publish(self, message: dict[str, Any]) -> None:
        self._enqueue(None, message)

    async def send_to_home(self, home_id: str, message: dict[str, Any]) -> None:
        self._enqueue(home_id, message)

    def _enqueue(self, home_id: str | None, message: dict[str, Any]) -> None:
        self._queue.append((home_id, message))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="gridcoop-outbox")

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            now_ms = int(self._clock() * 1000)
            try:
                await self._store.add_events(batch, now_ms, CHANNEL)
                if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
                    self._pruned_at = time.monotonic()
                    await self._store.prune_events(now_ms - KEEP_EVENTS_MS)
            except Exception:  # pushes are best effort; the results are in the store
                _LOGGER.exception("writing %d WebSocket messages to the outbox failed", len(batch))

    async def close(self) -> None:
        """Write what is still queued (at shutdown)."""
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher


class EventRelay:
    """Pushes the outbox to this worker's subscribers; `after_delivery` runs after each wake-up
    (followers use it to catch up with the leader's ledger and order books)."""

    def __init__(
        self,
        store: Store,
        dsn: str,
        broadcaster: Publisher,
        after_delivery: Callable[[], Awaitable[None]] | None = None,
        poll_seconds: float = 2.0,
    ) -> None:
        self._store = store
        self._dsn = dsn
        self._broadcaster = broadcaster
        self._after = after_delivery
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._cursor: int | None = None

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after any failure."""
        self._cursor = await self._store.last_event_id()  # only news from now on
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("event relay failed; reconnecting")
                await asyncio.sleep(self._poll)

    async def _listen(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(self._dsn, timeout=10)
        try:
            await conn.add_listener(CHANNEL, self._notified)
            while not conn.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                self._wake.clear()
                await self.deliver()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)
            conn.terminate()

    def _notified(self, _conn: object, _pid: int, _channel: str, _payload: object) -> None:
        self._wake.set()

    async def deliver(self) -> None:
        """Push every outbox message after the cursor, then run `after_delivery`."""
        if self._cursor is None:
            self._cursor = await self._store.last_event_id()
        while True:
            events = await self._store.events_after(self._cursor)
            for event_id, home_id, message in events:
                if home_id is None:
                    await self._broadcaster.publish(message)
                else:
                    await self._broadcaster.send_to_home(home_id, message)
                self._cursor = event_id
            if len(events) < 1000:
                break
        if self._after is not None:
            await self._after()
