"""Home Assistant's events as a test sees them: a WebSocket subscription (`subscribe_events`)
that gathers them in a thread while a `with` block runs. Made by `HomeAssistant.events()`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.e2e_ha.harness import wait_for


class EventRecorder:
    """Events from Home Assistant's WebSocket API (`subscribe_events`), gathered in a thread."""

    def __init__(self, url: str, token: str, event_type: str | None) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/api/websocket"
        self.token = token
        self.event_type = event_type
        self.events: list[dict[str, Any]] = []  # {"event_type", "data", "time_fired", ...}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> EventRecorder:
        self._thread.start()
        if not self._subscribed.wait(30) or self._error:
            raise RuntimeError(f"could not subscribe to events: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def seen(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def wait_for(
        self, matches: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """The first recorded event for which `matches` is true (waiting up to `timeout` s)."""
        event: dict[str, Any] = wait_for(
            lambda: next((e for e in self.seen() if matches(e)), None), timeout, what
        )
        return event

    async def _run(self) -> None:
        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(self.ws_url) as ws:
                await ws.receive_json()  # auth_required
                await ws.send_json({"type": "auth", "access_token": self.token})
                reply = await ws.receive_json()
                if reply.get("type") != "auth_ok":
                    raise RuntimeError(f"WebSocket auth: {reply}")
                subscribe: dict[str, Any] = {"id": 1, "type": "subscribe_events"}
                if self.event_type:
                    subscribe["event_type"] = self.event_type
                await ws.send_json(subscribe)
                reply = await ws.receive_json()
                if not reply.get("success"):
                    raise RuntimeError(f"subscribe_events: {reply}")
                self._subscribed.set()
                while not self._stop.is_set():
                    try:
                        message = await ws.receive(timeout=0.5)
                    except TimeoutError:
                        continue
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(message.data)
                    if data.get("type") == "event":
                        with self._lock:
                            self.events.append(data["event"])
        except BaseException as err:  # reported by __enter__ or seen as no events
            self._error = err
            self._subscribed.set()
