"""The WebSocket outbox: messages every worker pushes to its connected homes (several workers)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, text

from hub.store import schema
from hub.store.engine import Database


class OutboxRepository(Database):
    async def add_events(
        self, events: Sequence[tuple[str | None, dict[str, Any]]], now_ms: int, channel: str
    ) -> None:
        """Store (home_id or None, message) pairs for every worker to push, and NOTIFY `channel`
        (PostgreSQL) with the last event id in the same transaction."""
        if not events:
            return
        rows = [
            {"created_at": now_ms, "home_id": home_id, "message": json.dumps(message)}
            for home_id, message in events
        ]
        async with self._write() as conn:
            await conn.execute(insert(schema.hub_events), rows)
            if not self.is_sqlite:
                last = "(SELECT max(event_id) FROM hub_events)::text"
                await conn.execute(
                    text(f"SELECT pg_notify(:channel, {last})"), {"channel": channel}
                )

    async def events_after(
        self, event_id: int, limit: int = 1000
    ) -> list[tuple[int, str | None, dict[str, Any]]]:
        """(event id, home_id or None, message) of the outbox after `event_id`, oldest first."""
        e = schema.hub_events.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(e.event_id, e.home_id, e.message)
                .where(e.event_id > event_id)
                .order_by(e.event_id)
                .limit(limit)
            )
            return [(int(r.event_id), r.home_id, json.loads(r.message)) for r in rows]

    async def last_event_id(self) -> int:
        async with self._read() as conn:
            value = (await conn.execute(select(func.max(schema.hub_events.c.event_id)))).scalar()
        return int(value or 0)

    async def prune_events(self, before_ms: int) -> int:
        """Forget outbox messages older than `before_ms` (every worker has pushed them)."""
        async with self._write() as conn:
            result = await conn.execute(
                schema.hub_events.delete().where(schema.hub_events.c.created_at < before_ms)
            )
            return int(result.rowcount)
