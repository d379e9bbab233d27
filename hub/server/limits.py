"""Request limits (`[limits]` in hub.toml): rate limits, a handler timeout, a WebSocket cap.

- Rate: a token bucket per home key id for signed requests (X-GridCoop-Key-Id) and one per client
  IP for everything else. A signed request that fails to authenticate (401) gives its token back
  to the key and is charged to the IP instead, so forging a home's key id cannot use up that
  home's allowance; an IP whose bucket is empty is refused signed requests too. Refusal: 429
  `rate_limited` with `Retry-After` (whole seconds until a token is back).
- Timeout: a handler running longer than `handler_timeout_seconds` is cancelled and answered 503
  `timeout` (WebSockets and the streamed ledger export are exempt: they are long by design).
- WebSockets: at most `websockets_per_key` open sockets per home key id, else 429
  `too_many_websockets` before the handshake.
Request bodies are capped at 2 MiB by aiohttp (413 `content_too_large`, hub.server.errors).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from gridcoop_home.protocol.requests import HEADER_KEY_ID

from hub.config import LimitSettings
from hub.server.auth import AUTHENTICATED_KEY
from hub.server.errors import Handler, error_response

RATE_LIMITED = "rate_limited"
TOO_MANY_WEBSOCKETS = "too_many_websockets"
TIMEOUT = "timeout"
WEBSOCKET_PATH = "/api/v1/ws"
NO_TIMEOUT_PATHS = frozenset({WEBSOCKET_PATH, "/api/v1/ledger/export"})
MAX_BUCKETS = 100_000  # the least recently used buckets are forgotten beyond this (full again)

Monotonic = Callable[[], float]


class TokenBuckets:
    """One token bucket per name: `rate` tokens a second, at most `burst` stored."""

    def __init__(self, rate: float, burst: int, clock: Monotonic = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def _level(self, name: str) -> float:
        tokens, at = self._buckets.get(name, (self._burst, self._clock()))
        return min(self._burst, tokens + (self._clock() - at) * self._rate)

    def _store(self, name: str, tokens: float) -> None:
        self._buckets[name] = (tokens, self._clock())
        self._buckets.move_to_end(name)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)

    def take(self, name: str) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is available."""
        tokens = self._level(name)
        if tokens >= 1.0:
            self._store(name, tokens - 1.0)
            return 0.0
        self._store(name, tokens)
        return (1.0 - tokens) / self._rate

    def give_back(self, name: str) -> None:
        self._store(name, min(self._burst, self._level(name) + 1.0))

    def charge(self, name: str) -> None:
        """Take a token whether or not there is one (the level stops at zero)."""
        self._store(name, max(0.0, self._level(name) - 1.0))

    def empty(self, name: str) -> bool:
        return self._level(name) < 1.0


class Limits:
    def __init__(self, settings: LimitSettings, clock: Monotonic = time.monotonic) -> None:
        self.settings = settings
        self.keys = TokenBuckets(settings.key_per_second, settings.key_burst, clock)
        self.ips = TokenBuckets(settings.ip_per_second, settings.ip_burst, clock)
        self.websockets: dict[str, int] = defaultdict(int)

    def client_ip(self, request: web.Request) -> str:
        if self.settings.trust_forwarded_for:
            forwarded = request.headers.get("X-Forwarded-For", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            if hops:
                return hops[-1]  # added by our own proxy; the ones before it are the client's say
        return request.remote or "unknown"

    async def middleware_step(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        key_id = request.headers.get(HEADER_KEY_ID)
        ip = self.client_ip(request)
        if key_id is None:
            wait = self.ips.take(ip)
            if wait:
                return rate_limited(wait, "too many requests from this address")
            return await self._handle(request, handler)
        if self.ips.empty(ip):
            return rate_limited(self.ips.take(ip), "too many failed requests from this address")
        # Checked here but charged only once the request proved it holds the key: naming
        # someone else's key id (they are public) must not spend that home's allowance.
        if self.keys.empty(key_id):
            return rate_limited(self.keys.take(key_id), "too many requests for this home key")
        if request.path == WEBSOCKET_PATH:
            if self.websockets[key_id] >= self.settings.websockets_per_key:
                return error_response(
                    429,
                    TOO_MANY_WEBSOCKETS,
                    f"this home key has {self.websockets[key_id]} WebSockets open already "
                    f"(at most {self.settings.websockets_per_key})",
                )
            self.websockets[key_id] += 1
            try:
                return self._charge(request, key_id, ip, await handler(request))
            finally:
                self.websockets[key_id] -= 1
                if not self.websockets[key_id]:
                    del self.websockets[key_id]
        return self._charge(request, key_id, ip, await self._handle(request, handler))

    def _charge(
        self, request: web.Request, key_id: str, ip: str, response: web.StreamResponse
    ) -> web.StreamResponse:
        if request.get(AUTHENTICATED_KEY) == key_id:
            self.keys.charge(key_id)
        else:  # a public route, or not the key's holder: the sender's address pays
            self.ips.charge(ip)
        return response

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in NO_TIMEOUT_PATHS:
            return await handler(request)
        timeout = self.settings.handler_timeout_seconds
        try:
            return await asyncio.wait_for(handler(request), timeout)
        except TimeoutError:
            return error_response(
                503, TIMEOUT, f"the hub did not answer within {timeout:g} s; try again"
            )


def rate_limited(wait_seconds: float, detail: str) -> web.Response:
    response = error_response(429, RATE_LIMITED, f"{detail}; retry later")
    response.headers["Retry-After"] = str(max(1, math.ceil(wait_seconds)))
    return response


def limits_middleware(limits: Limits) -> Middleware:
    """Goes before (outside) error_middleware: it sees refusals as the 401 answers they become."""

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await limits.middleware_step(request, handler)

    return limit
