"""aiohttp application factory for the hub."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from hub.config import HubConfig
from hub.ledger.service.sealer import LedgerService
from hub.server import routes_home, routes_ledger, routes_orders, routes_public, websocket
from hub.server.broadcast import Broadcaster
from hub.server.context import CLOCK, CONFIG, STORE
from hub.server.dashboard import setup_dashboard
from hub.server.errors import error_middleware
from hub.server.leader import ELECTION, Election, Leadership, leader_middleware, leader_routes
from hub.server.limits import Limits, limits_middleware
from hub.server.openapi import openapi_document
from hub.server.params import parameter_rules, parameters_middleware
from hub.server.runtime import BROADCASTER, CLEARING
from hub.service.clearing import ClearingService
from hub.service.notify import EventRelay, OutboxPublisher
from hub.service.ports import Clock, Publisher
from hub.store import Store
from hub.store.ledger_store import LedgerStore

MAX_BODY_BYTES = 2 * 1024 * 1024
_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScaleOut:
    """How this process shares its database with other `serve` processes (docs/hub/scale_out.md).

    `leadership`: what the processes compete for; only the leader clears and seals.
    `notify_dsn`: a PostgreSQL DSN to LISTEN on, so WebSocket pushes reach every worker's
    subscribers; None keeps pushes in this process (SQLite: one process)."""

    leadership: Leadership
    notify_dsn: str | None = None
    poll_seconds: float = 1.0


def create_app(
    config: HubConfig,
    store: Store,
    clock: Clock = time.time,
    run_clearing: bool = True,
    scale_out: ScaleOut | None = None,
) -> web.Application:
    """Build the hub. With `run_clearing`, intervals clear automatically at each gate closure;
    tests switch it off and drive `app[CLEARING]` themselves with a fake clock. Without
    `scale_out` the process is the only one and always leads."""
    middlewares: list[Middleware] = [error_middleware]
    if scale_out is not None:
        middlewares.append(leader_middleware)
    document = openapi_document(ledger=config.ledger.enabled, workers=scale_out is not None)
    middlewares.append(parameters_middleware(parameter_rules(document)))
    if config.limits.enabled:
        middlewares.insert(0, limits_middleware(Limits(config.limits)))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    app[CONFIG] = config
    app[STORE] = store
    app[CLOCK] = clock
    app[BROADCASTER] = Broadcaster()
    publisher: Publisher = app[BROADCASTER]
    if scale_out is not None and scale_out.notify_dsn is not None:
        publisher = app[OUTBOX] = OutboxPublisher(store, clock)
    ledger = None
    if config.ledger.enabled:
        app[routes_ledger.LEDGER_STORE] = LedgerStore(store)
        ledger = LedgerService(app[routes_ledger.LEDGER_STORE], config.ledger, clock)
        app[routes_ledger.LEDGER] = ledger
        app.add_routes(routes_ledger.routes)
    app.add_routes(routes_public.routes)
    app[CLEARING] = ClearingService(config, store, publisher, clock, ledger)
    app.add_routes(routes_home.routes)
    app.add_routes(routes_orders.routes)
    app.add_routes(websocket.routes)
    setup_dashboard(app)  # the page at /, its public JSON and the admin API
    if scale_out is None:
        if ledger is not None:
            app.cleanup_ctx.append(_start_ledger)
        if run_clearing:
            app.cleanup_ctx.append(_clearing_loop)
    else:
        app[SCALE_OUT] = scale_out
        app[RUN_CLEARING] = run_clearing
        app.add_routes(leader_routes)
        app.cleanup_ctx.append(_workers)
    app.on_startup.append(_freeze_startup_objects)  # last: after the ledger chain is loaded
    app.on_shutdown.append(_close_websockets)
    return app


SCALE_OUT = web.AppKey("scale_out", ScaleOut)
OUTBOX = web.AppKey("outbox", OutboxPublisher)
RUN_CLEARING = web.AppKey("run_clearing", bool)


async def _start_ledger(app: web.Application) -> AsyncIterator[None]:
    """Load (or create) the chain before the market starts clearing."""
    await app[routes_ledger.LEDGER].start()
    yield


async def _clearing_loop(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[CLEARING].run_forever(), name="gridcoop-clearing")
    yield
    await _cancel(task)


async def _workers(app: web.Application) -> AsyncIterator[None]:
    """One of several workers: compete for leadership, relay pushes, follow the leader."""
    scale_out = app[SCALE_OUT]
    ledger = app.get(routes_ledger.LEDGER)
    if ledger is not None:
        await ledger.follow()  # what the chain holds so far; the leader writes it

    async def elected() -> None:
        await _apply_stored_settings(app)
        if ledger is not None:
            await ledger.start()  # key, the chain as the previous leader left it, genesis if new
        market = app[CLEARING].continuous
        if market is not None:
            market.forget_books()

    async def deposed() -> None:
        await follow_leader()

    async def follow_leader() -> None:
        """A follower's views of the leader's state: the ledger and the order books."""
        if app[ELECTION].is_leader:
            return
        market = app[CLEARING].continuous
        if market is not None:
            market.forget_books()
        if ledger is not None:
            head = await app[routes_ledger.LEDGER_STORE].head()
            known = ledger.head.header.hash if ledger.started else None
            if head is not None and head["block_hash"] != known:
                await ledger.follow()

    app[ELECTION] = Election(
        scale_out.leadership,
        app[CLEARING].run_forever if app[RUN_CLEARING] else _idle,
        elected,
        deposed,
        scale_out.poll_seconds,
    )
    tasks = [asyncio.create_task(app[ELECTION].run(), name="gridcoop-election")]
    if scale_out.notify_dsn is not None:
        relay = EventRelay(app[STORE], scale_out.notify_dsn, app[BROADCASTER], follow_leader)
        tasks.append(asyncio.create_task(relay.run(), name="gridcoop-relay"))
    else:
        tasks.append(asyncio.create_task(_poll(follow_leader), name="gridcoop-follow"))
    yield
    for task in tasks:
        await _cancel(task)
    if OUTBOX in app:
        await app[OUTBOX].close()


async def _idle() -> None:
    await asyncio.Event().wait()


async def _poll(step: object, seconds: float = 2.0) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await step()  # type: ignore[operator]
        except Exception:
            _LOGGER.exception("following the leader failed")


async def _apply_stored_settings(app: web.Application) -> None:
    """The admin area's settings as the previous leader left them."""
    from hub.server.admin import apply_runtime_config
    from hub.service import settings

    config = settings.apply_stored(app[CONFIG], await app[STORE].get_settings())
    if config != app[CONFIG]:
        apply_runtime_config(app, config)


async def _freeze_startup_objects(_app: web.Application) -> None:
    """Put what the process holds once the hub has started (modules, the ledger chain...) out of
    the cyclic garbage collector's reach, once per process: a full collection then scans only
    what came since, a few ms instead of ~130 ms during which no request is served
    (bench/bench_load.py). What is frozen is still freed by reference counting."""
    global _FROZEN
    if _FROZEN:
        return
    _FROZEN = True
    gc.collect()  # garbage now would never be collected once frozen
    gc.freeze()


_FROZEN = False


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_websockets(app: web.Application) -> None:
    await app[BROADCASTER].close_all()
