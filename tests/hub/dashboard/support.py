"""Test support for the dashboard: a hub app with the dashboard set up, served on a real socket,
with a fake clock, helpers for homes, bids and clearing, and OpenAPI conformance checks against
the served document plus the dashboard's fragments (as hub.server.openapi will merge them)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from gridcoop_home.client.hub import HubClient, Meter
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.keys import SigningKey

from hub.config import HubConfig
from hub.server.app import create_app
from hub.server.dashboard import (
    setup_dashboard,
)
from hub.server.openapi import openapi_document
from hub.server.runtime import CLEARING
from hub.store import Store
from hub.store.records import IntervalRecord
from tests.hub.server.support import (
    Exchange,
    FakeClock,
    json_recorder,
)

ADMIN_TOKEN = "gcadm_test-token-for-the-dashboard-tests"
ADMIN_TOKEN_SHA256 = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()


class Reply(NamedTuple):
    status: int
    body: Any
    headers: Any


class Home(NamedTuple):
    client: HubClient
    meters: list[Meter]
    home_id: str
    key: SigningKey


def curves(buy: Iterable[tuple[int, int]] = (), sell: Iterable[tuple[int, int]] = ()) -> BidCurves:
    return BidCurves(
        buy=tuple(BidStep(p, e, "base") for p, e in buy),
        sell=tuple(BidStep(p, e, "battery") for p, e in sell),
    )


@dataclass
class DashHub:
    app: web.Application
    server: TestServer
    store: Store
    clock: FakeClock
    config: HubConfig
    session: aiohttp.ClientSession
    exchanges: list[Exchange] = field(default_factory=list)
    homes: int = 0

    @property
    def url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    def now_ms(self) -> int:
        return self.clock.ms()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        async with self.session.request(method, self.url + path, data=data, headers=sent) as r:
            text = await r.text()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text
            return Reply(r.status, parsed, r.headers)

    async def admin(self, method: str, path: str, body: Any = None) -> Reply:
        return await self.request(method, path, body, token=ADMIN_TOKEN)

    async def enrol(
        self, name: str | None = None, bus: int | None = None, meters: Iterable[str] = ("grid",)
    ) -> Home:
        self.homes += 1
        code = await self.store.create_join_code(
            name or f"House {self.homes}", bus, self.now_ms(), 3_600_000
        )
        return await self.enrol_with(code, meters)

    async def enrol_with(self, code: str, meters: Iterable[str] = ("grid",)) -> Home:
        client = HubClient(self.session, self.url)
        key = SigningKey.generate()
        meter_list = [Meter(kind, kind, SigningKey.generate()) for kind in meters]
        answer = await client.enrol(code, key, meter_list)
        return Home(client, meter_list, answer["home"]["home_id"], key)

    def next_interval(self) -> int:
        return self.config.next_open_interval(self.clock())

    async def clear(self, interval: int) -> IntervalRecord:
        """Move the clock past the interval's gate closure and clear it."""
        self.clock.set(max(self.clock(), self.config.gate_closure_of(interval) + 1))
        record = await self.app[CLEARING].clear(interval)
        assert record is not None
        return record

    async def stop(self) -> None:
        await self.server.close()
        await self.store.close()


async def start_dashboard_hub(
    config: HubConfig, db_url: str, clock: FakeClock, session: aiohttp.ClientSession
) -> DashHub:
    store = await Store.open(db_url)
    app = create_app(config, store, clock=clock, run_clearing=False)
    setup_dashboard(app)
    exchanges: list[Exchange] = []
    app.middlewares.insert(0, json_recorder(exchanges))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return DashHub(app, server, store, clock, config, session, exchanges)


# -- OpenAPI --------------------------------------------------------------------------------------


def document() -> dict[str, Any]:
    """The served document (the dashboard's and admin paths are part of it)."""
    return openapi_document()
