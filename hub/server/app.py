"""aiohttp application factory for the hub."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiohttp import web

from hub.config import HubConfig
from hub.ledger.service import LedgerService
from hub.server import routes_home, routes_ledger, routes_orders, routes_public, websocket
from hub.server.broadcast import Broadcaster
from hub.server.clearing import ClearingService
from hub.server.context import CLOCK, CONFIG, STORE, Clock
from hub.server.dashboard import setup_dashboard
from hub.server.errors import error_middleware
from hub.server.runtime import BROADCASTER, CLEARING
from hub.store import Store
from hub.store.ledger_store import LedgerStore

MAX_BODY_BYTES = 2 * 1024 * 1024


def create_app(
    config: HubConfig,
    store: Store,
    clock: Clock = time.time,
    run_clearing: bool = True,
) -> web.Application:
    """Build the hub. With `run_clearing`, intervals clear automatically at each gate closure;
    tests switch it off and drive `app[CLEARING]` themselves with a fake clock."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[CONFIG] = config
    app[STORE] = store
    app[CLOCK] = clock
    app[BROADCASTER] = Broadcaster()
    ledger = None
    if config.ledger.enabled:
        app[routes_ledger.LEDGER_STORE] = LedgerStore(store)
        ledger = LedgerService(app[routes_ledger.LEDGER_STORE], config.ledger, clock)
        app[routes_ledger.LEDGER] = ledger
        app.cleanup_ctx.append(_start_ledger)
        app.add_routes(routes_ledger.routes)
    app.add_routes(routes_public.routes)
    app[CLEARING] = ClearingService(config, store, app[BROADCASTER], clock, ledger)
    app.add_routes(routes_home.routes)
    app.add_routes(routes_orders.routes)
    app.add_routes(websocket.routes)
    setup_dashboard(app)  # the page at /, its public JSON and the admin API
    if run_clearing:
        app.cleanup_ctx.append(_clearing_loop)
    app.on_shutdown.append(_close_websockets)
    return app


async def _start_ledger(app: web.Application) -> AsyncIterator[None]:
    """Load (or create) the chain before the market starts clearing."""
    await app[routes_ledger.LEDGER].start()
    yield


async def _clearing_loop(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[CLEARING].run_forever(), name="gridcoop-clearing")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_websockets(app: web.Application) -> None:
    await app[BROADCASTER].close_all()
