"""Endpoints anyone may call: health, hub info, OpenAPI, public market and grid data, enrolment."""

from __future__ import annotations

from aiohttp import web
from gridcoop_home.protocol.enrolment import parse_enrolment
from gridcoop_home.protocol.envelope import PROTOCOL_VERSION
from gridcoop_home.protocol.errors import NOT_CONFIGURED, ProtocolError

import hub
from hub.server.context import CLOCK, CONFIG, STORE, now_ms
from hub.server.openapi import openapi_document
from hub.server.params import (
    MAX_INTERVAL_START,
    MAX_INTERVALS_LISTED,
    MAX_TARIFF_INTERVALS,
    int_param,
    interval_path_param,
    json_body,
)
from hub.service.network import grid_summary

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    store = request.app[STORE]
    return web.json_response(
        {
            "status": "ok",
            "version": hub.__version__,
            "database": "sqlite" if store.is_sqlite else "postgresql",
        }
    )


@routes.get("/api/v1/info")
async def info(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    now = request.app[CLOCK]()
    current = config.interval_start_of(int(now))
    prices = config.tariff.prices_at(current)
    return web.json_response(
        {
            "hub_version": hub.__version__,
            "protocol_version": PROTOCOL_VERSION,
            "server_time_ms": int(now * 1000),
            "current_interval_start": current,
            "next_open_interval_start": config.next_open_interval(now),
            "retail_price": prices.retail_price,
            "feed_in_price": prices.feed_in_price,
            **config.public_info(),
        }
    )


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(ledger=request.app[CONFIG].ledger.enabled))


@routes.get("/api/v1/market/intervals")
async def list_intervals(request: web.Request) -> web.Response:
    now = int(request.app[CLOCK]())
    # Intervals clear at gate closure, before they start: the default includes the next ones.
    default_to = now + 2 * request.app[CONFIG].interval_seconds
    start_to = int_param(request, "to", default_to, 0, MAX_INTERVAL_START)
    start_from = int_param(request, "from", max(0, start_to - 24 * 3600), 0, MAX_INTERVAL_START)
    limit = int_param(request, "limit", 96, 1, MAX_INTERVALS_LISTED)  # the newest of the range
    records = await request.app[STORE].list_intervals(start_from, start_to, limit)
    return web.json_response({"intervals": [record.to_wire() for record in records]})


@routes.get("/api/v1/market/intervals/{interval_start}")
async def get_interval(request: web.Request) -> web.Response:
    record = await request.app[STORE].get_interval(interval_path_param(request))
    if record is None:
        raise web.HTTPNotFound(text="this interval has not been cleared")
    return web.json_response(record.to_wire())


@routes.get("/api/v1/market/intervals/{interval_start}/network")
async def interval_network(request: web.Request) -> web.Response:
    """What the feeder did to an interval: nodal prices, binding limits, curtailment by bus."""
    store = request.app[STORE]
    start = interval_path_param(request)
    network = await store.get_interval_network(start)
    if network is None:
        if await store.get_interval(start) is None:
            raise web.HTTPNotFound(text="this interval has not been cleared")
        raise ProtocolError(NOT_CONFIGURED, "this interval was not cleared on a feeder")
    return web.json_response(network)


@routes.get("/api/v1/grid")
async def grid(request: web.Request) -> web.Response:
    """The configured feeder: buses, lines and their limits, enrolled homes per bus."""
    config = request.app[CONFIG]
    feeder = config.network.feeder
    if feeder is None:
        raise ProtocolError(NOT_CONFIGURED, "this hub has no feeder ([network] feeder_file)")
    homes = await request.app[STORE].list_homes()
    return web.json_response(grid_summary(config, feeder, homes))


@routes.get("/api/v1/market/tariffs")
async def tariffs(request: web.Request) -> web.Response:
    """Grid prices for the coming intervals: the planner's price forecast backbone."""
    config = request.app[CONFIG]
    now = int(request.app[CLOCK]())
    count = int_param(request, "intervals", 96, 1, MAX_TARIFF_INTERVALS)
    first = config.interval_start_of(now)
    slots = []
    for n in range(count):
        start = first + n * config.interval_seconds
        prices = config.tariff.prices_at(start)
        slots.append(
            {
                "interval_start": start,
                "retail_price": prices.retail_price,
                "feed_in_price": prices.feed_in_price,
            }
        )
    return web.json_response({"currency": config.currency, "tariffs": slots})


@routes.post("/api/v1/enrol")
async def enrol(request: web.Request) -> web.Response:
    enrolment = parse_enrolment(json_body(await request.read()))
    home = await request.app[STORE].enrol(enrolment, now_ms(request.app))
    config = request.app[CONFIG]
    return web.json_response(
        {"home": home.to_wire(), "protocol_version": PROTOCOL_VERSION, **config.public_info()},
        status=201,
    )
