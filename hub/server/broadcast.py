"""WebSocket fan-out: public market news to everyone, allocations and dispatch to their home.

The market code talks to a `hub.service.ports.Publisher`. In one process that is the
`Broadcaster` itself; with several workers on PostgreSQL it is
hub.service.notify.OutboxPublisher, which hands each message to every worker's Broadcaster
through the database (LISTEN/NOTIFY).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from aiohttp import web

_LOGGER = logging.getLogger(__name__)


class Broadcaster:
    def __init__(self) -> None:
        self._public: set[web.WebSocketResponse] = set()
        self._by_home: dict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def subscribe(self, ws: web.WebSocketResponse, home_id: str | None) -> None:
        self._public.add(ws)
        if home_id is not None:
            self._by_home[home_id].add(ws)

    def unsubscribe(self, ws: web.WebSocketResponse, home_id: str | None) -> None:
        self._public.discard(ws)
        if home_id is not None:
            self._by_home[home_id].discard(ws)
            if not self._by_home[home_id]:
                del self._by_home[home_id]

    @property
    def subscriber_count(self) -> int:
        return len(self._public)

    async def publish(self, message: dict[str, Any]) -> None:
        await self._send_all(list(self._public), message)

    async def send_to_home(self, home_id: str, message: dict[str, Any]) -> None:
        await self._send_all(list(self._by_home.get(home_id, ())), message)

    async def close_all(self) -> None:
        for ws in list(self._public):
            await ws.close(code=1001, message=b"hub shutting down")

    async def _send_all(
        self, sockets: list[web.WebSocketResponse], message: dict[str, Any]
    ) -> None:
        if not sockets:
            return
        results = await asyncio.gather(
            *(ws.send_json(message) for ws in sockets if not ws.closed), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):  # a dead socket must not stop the others
                _LOGGER.debug("websocket send failed: %s", result)
