"""Test support for the hub server: a fake clock, a served hub and OpenAPI conformance checks.

Kept out of conftest.py so tests/hub/test_cli.py can import it too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from gridcoop_home.client.hub import HubClient, Meter
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.envelope import SequenceCounter
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.requests import sign_request
from jsonschema import Draft202012Validator

from hub.config import HubConfig
from hub.server.app import create_app
from hub.server.openapi import openapi_document
from hub.service.ports import Clock
from hub.store import Store

DAY_MS = 24 * 3600 * 1000


@pytest.fixture(autouse=True)
def default_log_level(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every in-process hub logs at INFO, the level `gridcoop-hub serve` runs at by default (a log
    call that fails only when INFO is enabled once hid behind tests run at WARNING: issue 16),
    with the access log at WARNING as hub.logs.setup_logging sets it. Autouse wherever a conftest
    imports it; a test fails if the hub answered any request with a 500 (aiohttp logs each)."""
    caplog.set_level(logging.INFO)
    access = logging.getLogger("aiohttp.access")
    level = access.level
    access.setLevel(logging.WARNING)
    yield
    access.setLevel(level)
    server_errors = [
        record.getMessage()
        for phase in ("setup", "call")
        for record in caplog.get_records(phase)  # type: ignore[arg-type]
        if record.name == "aiohttp.server" and record.levelno >= logging.ERROR
    ]
    assert server_errors == [], "the hub answered 500"


class FakeClock:
    """The hub's clock in tests: UTC seconds that start at the real time and move only when told.

    Starting at the real time keeps real signatures and readings plausible; the fixtures also make
    the HubClient stamp its requests and readings from this clock, so both sides always agree.
    """

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, now: float) -> None:
        self.now = now

    def ms(self) -> int:
        return int(self.now * 1000)  # exactly how the hub converts (hub.server.context.now_ms)


class Reply(NamedTuple):
    status: int
    body: Any


class Exchange(NamedTuple):
    """One JSON answer of the hub, as seen at the outermost middleware."""

    method: str
    path: str  # the route's template, e.g. /api/v1/bids/{interval_start}
    status: int
    body: Any


class Home(NamedTuple):
    """An enrolled home: its signed client, its meters, its id and its home key."""

    client: HubClient
    meters: list[Meter]
    home_id: str
    key: SigningKey

    def meter(self, name: str) -> Meter:
        return next(m for m in self.meters if m.name == name)


def json_recorder(exchanges: list[Exchange]) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        resource = request.match_info.route.resource
        if (
            resource is not None
            and isinstance(response, web.Response)
            and response.content_type == "application/json"
            and isinstance(response.body, bytes)
        ):
            exchanges.append(
                Exchange(
                    request.method, resource.canonical, response.status, json.loads(response.body)
                )
            )
        return response

    return record


@dataclass
class Hub:
    """A hub app served on a real socket over a SQLite store, plus helpers to talk to it."""

    app: web.Application
    server: TestServer
    store: Store
    clock: Clock
    config: HubConfig
    session: aiohttp.ClientSession
    db_url: str
    exchanges: list[Exchange] = field(default_factory=list)
    _seq: SequenceCounter = field(default_factory=SequenceCounter)
    _homes: int = 0

    @property
    def url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def client(self, home_key: SigningKey | None = None) -> HubClient:
        return HubClient(self.session, self.url, home_key=home_key)

    async def invite(
        self, name: str = "House", bus: int | None = None, ttl_ms: int = DAY_MS
    ) -> str:
        return await self.store.create_join_code(name, bus, self.now_ms(), ttl_ms)

    async def enrol(
        self, name: str | None = None, bus: int | None = None, meters: Iterable[str] = ("grid",)
    ) -> Home:
        """Invite and enrol a home through the real HubClient; meters are named after their kind."""
        self._homes += 1
        code = await self.invite(name or f"House {self._homes}", bus)
        client = self.client()
        home_key = SigningKey.generate()
        meter_list = [Meter(kind, kind, SigningKey.generate()) for kind in meters]
        answer = await client.enrol(code, home_key, meter_list)
        return Home(client, meter_list, answer["home"]["home_id"], home_key)

    async def raw(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """Send anything; `body` may be bytes (sent as is) or JSON-able (encoded compactly)."""
        data = body if isinstance(body, bytes) or body is None else encode(body)
        async with self.session.request(
            method, self.url + path, data=data, headers=headers or {}
        ) as response:
            text = await response.text()
            return Reply(response.status, json.loads(text) if text else None)

    def signed_headers(
        self,
        key: SigningKey,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        seq: int | None = None,
        ts_ms: int | None = None,
    ) -> dict[str, str]:
        return sign_request(
            key,
            method,
            path,
            body,
            self._seq.next() if seq is None else seq,
            self.now_ms() if ts_ms is None else ts_ms,
        )

    async def signed(
        self,
        key: SigningKey,
        method: str,
        path: str,
        body: Any = None,
        *,
        seq: int | None = None,
        ts_ms: int | None = None,
    ) -> Reply:
        """A correctly signed request with any body (for bodies HubClient would never send)."""
        data = b"" if body is None else body if isinstance(body, bytes) else encode(body)
        headers = self.signed_headers(key, method, path, data, seq=seq, ts_ms=ts_ms)
        return await self.raw(method, path, data or None, headers)

    async def stop(self) -> None:
        await self.server.close()
        await self.store.close()


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def curves(
    buy: Iterable[tuple[int, int, str]] = (), sell: Iterable[tuple[int, int, str]] = ()
) -> BidCurves:
    """Bid curves from (price, energy_wh, asset) triples."""
    return BidCurves(
        buy=tuple(BidStep(p, e, a) for p, e, a in buy),
        sell=tuple(BidStep(p, e, a) for p, e, a in sell),
    )


async def start_hub(
    config: HubConfig,
    store: Store,
    clock: Clock,
    session: aiohttp.ClientSession,
    db_url: str,
    run_clearing: bool = False,
) -> Hub:
    app = create_app(config, store, clock=clock, run_clearing=run_clearing)
    exchanges: list[Exchange] = []
    app.middlewares.insert(0, json_recorder(exchanges))  # outermost: sees the final JSON answers
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Hub(app, server, store, clock, config, session, db_url, exchanges)


# -- OpenAPI ------------------------------------------------------------------------------------


@cache
def document() -> dict[str, Any]:
    return openapi_document()


def documented_routes(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


def served_routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def response_validator(
    doc: dict[str, Any], method: str, path: str, status: int
) -> Draft202012Validator:
    """Validator for one documented response; raises KeyError when it is not documented."""
    response = doc["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    # The documented schema becomes the root resource so "#/components/..." references resolve.
    return Draft202012Validator({**schema, "components": doc["components"]})


def conformance_problems(
    exchanges: Iterable[Exchange], doc: dict[str, Any] | None = None
) -> list[str]:
    """Every JSON answer must be a documented status of its route and match that schema."""
    doc = doc or document()
    problems = []
    for ex in exchanges:
        where = f"{ex.method} {ex.path} -> {ex.status}"
        try:
            validator = response_validator(doc, ex.method, ex.path, ex.status)
        except KeyError:
            problems.append(f"{where}: status not documented")
            continue
        for error in validator.iter_errors(ex.body):
            problems.append(f"{where}: {error.message} at {list(error.absolute_path)}")
    return problems
