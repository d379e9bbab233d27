"""Async client for the hub API. The caller owns and injects the aiohttp session.

Signed requests are sent one at a time per client: the hub insists on strictly increasing
sequence numbers per key, so two requests racing each other would make one look like a replay.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import aiohttp

from gridcoop_home.client.errors import HubError, HubUnreachable, error_for
from gridcoop_home.protocol.bids import Bid, BidCurves
from gridcoop_home.protocol.enrolment import build_enrolment
from gridcoop_home.protocol.envelope import SequenceCounter, SignedMessage, now_ms, sign_message
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.readings import Registers, sign_reading
from gridcoop_home.protocol.requests import sign_request

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30)
__all__ = ["DEFAULT_TIMEOUT", "HubClient", "HubError", "HubUnreachable", "Meter"]


class Meter:
    """A meter's signing key plus its own sequence counter: produces signed readings."""

    def __init__(self, name: str, kind: str, key: SigningKey) -> None:
        self.name = name
        self.kind = kind
        self.key = key
        self._counter = SequenceCounter()

    def reading(self, import_wh: int, export_wh: int, ts_ms: int | None = None) -> SignedMessage:
        return sign_reading(
            self.key,
            Registers(import_wh=import_wh, export_wh=export_wh),
            seq=self._counter.next(),
            ts_ms=now_ms() if ts_ms is None else ts_ms,
        )


class HubClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        home_key: SigningKey | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._home_key = home_key
        self._timeout = timeout
        self._counter = SequenceCounter()
        self._signed_lock = asyncio.Lock()

    @property
    def base_url(self) -> str:
        return self._base

    # -- public --------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        return await self._request("GET", "/health")

    async def info(self) -> dict[str, Any]:
        return await self._request("GET", "/api/v1/info")

    async def intervals(self, **query: int) -> list[dict[str, Any]]:
        data = await self._request("GET", "/api/v1/market/intervals", query=query)
        return list(data["intervals"])

    async def interval(self, interval_start: int) -> dict[str, Any]:
        return await self._request("GET", f"/api/v1/market/intervals/{interval_start}")

    async def tariffs(self, intervals: int = 96) -> dict[str, Any]:
        return await self._request("GET", "/api/v1/market/tariffs", query={"intervals": intervals})

    async def enrol(
        self, join_code: str, home_key: SigningKey, meters: Sequence[Meter]
    ) -> dict[str, Any]:
        body = build_enrolment(
            join_code, home_key, {meter.name: (meter.kind, meter.key) for meter in meters}
        )
        self._home_key = home_key
        return await self._request("POST", "/api/v1/enrol", body=body)

    # -- signed --------------------------------------------------------------------------------

    async def home(self) -> dict[str, Any]:
        return await self._signed("GET", "/api/v1/home")

    async def upload_readings(self, readings: Sequence[SignedMessage]) -> dict[str, Any]:
        body = {"readings": [reading.to_wire() for reading in readings]}
        return await self._signed("POST", "/api/v1/readings", body=body)

    async def readings(self, since_ms: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        data = await self._signed(
            "GET", "/api/v1/readings", query={"since": since_ms, "limit": limit}
        )
        return list(data["readings"])

    def sign_bid(self, interval_start: int, curves: BidCurves) -> SignedMessage:
        key = self._require_key()
        body = Bid(interval_start=interval_start, curves=curves).to_wire()
        return sign_message(key, "bid", body, seq=self._counter.next(), ts=now_ms())

    async def submit_bid(self, interval_start: int, curves: BidCurves) -> dict[str, Any]:
        return await self.submit_signed_bid(self.sign_bid(interval_start, curves))

    async def submit_signed_bid(self, message: SignedMessage) -> dict[str, Any]:
        return await self._signed("POST", "/api/v1/bids", body=message.to_wire())

    async def bid(self, interval_start: int) -> dict[str, Any]:
        return await self._signed("GET", f"/api/v1/bids/{interval_start}")

    async def results(self, **query: int) -> list[dict[str, Any]]:
        data = await self._signed("GET", "/api/v1/results", query=query)
        return list(data["allocations"])

    async def result(self, interval_start: int) -> dict[str, Any]:
        return await self._signed("GET", f"/api/v1/results/{interval_start}")

    @asynccontextmanager
    async def stream(self, heartbeat: float = 30) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """WebSocket of market news; signed (with allocations) when a home key is set."""
        path = "/api/v1/ws"
        try:
            ws = await self._open_stream(path, heartbeat)
        except aiohttp.WSServerHandshakeError as err:
            raise HubError(err.status, "websocket_refused", err.message) from err
        except (aiohttp.ClientConnectionError, TimeoutError) as err:
            raise HubUnreachable(str(err)) from err
        try:
            yield ws
        finally:
            _stop_heartbeat(ws)
            await ws.close()

    async def _open_stream(self, path: str, heartbeat: float) -> aiohttp.ClientWebSocketResponse:
        async def connect(headers: dict[str, str]) -> aiohttp.ClientWebSocketResponse:
            return await self._session.ws_connect(
                self._base + path,
                headers=headers,
                heartbeat=heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=10),
            )

        if self._home_key is None:
            return await connect({})
        # Keep the lock until the handshake is done, so no later sequence overtakes this one.
        async with self._signed_lock:
            seq = self._counter.next()
            return await connect(sign_request(self._home_key, "GET", path, b"", seq, now_ms()))

    # -- for API clients built on this one (e.g. gridcoop_home.client.ledger) ---------------

    async def request(
        self, method: str, path: str, body: Any = None, query: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """An unsigned call to any hub endpoint."""
        return await self._request(method, path, body, query)

    async def signed_request(
        self, method: str, path: str, body: Any = None, query: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """A call signed with the home key, sharing this client's sequence and lock."""
        return await self._signed(method, path, body, query)

    # -- plumbing ------------------------------------------------------------------------------

    def _require_key(self) -> SigningKey:
        if self._home_key is None:
            raise ValueError("this client has no home key: enrol first or pass home_key")
        return self._home_key

    async def _signed(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        key = self._require_key()
        path_qs = path + (("?" + urlencode(query)) if query else "")
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        async with self._signed_lock:
            headers = sign_request(key, method, path_qs, payload, self._counter.next(), now_ms())
            return await self._send(method, path_qs, payload, headers)

    async def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        path_qs = path + (("?" + urlencode(query)) if query else "")
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        return await self._send(method, path_qs, payload, {})

    async def _send(
        self, method: str, path_qs: str, payload: bytes, headers: dict[str, str]
    ) -> dict[str, Any]:
        if payload:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            async with self._session.request(
                method,
                self._base + path_qs,
                data=payload or None,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                text = await response.text()
                data = json.loads(text) if text else {}
                if response.status >= 400:
                    raise error_for(
                        response.status,
                        str(data.get("error", "http_error"))
                        if isinstance(data, dict)
                        else "http_error",
                        str(data.get("detail", text)) if isinstance(data, dict) else text,
                    )
                return data if isinstance(data, dict) else {"data": data}
        except (aiohttp.ClientConnectionError, TimeoutError) as err:
            raise HubUnreachable(f"{self._base}: {err}") from err
        except json.JSONDecodeError as err:
            raise HubError(502, "bad_response", f"hub answered non-JSON: {err}") from err


def _stop_heartbeat(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Before closing: no more pings. aiohttp 3.14 re-arms its heartbeat timer for any frame that
    arrives while the socket closes (the hub's close reply, a push in flight), and that timer
    then outlives the socket (Home Assistant's tests fail on it). Without a heartbeat period there
    is nothing to re-arm; close() cancels the timer already set."""
    ws._heartbeat = None
