"""Endpoints for enrolled homes; every request is signed with the home key."""

from __future__ import annotations

from aiohttp import web
from gridcoop_home.protocol.envelope import parse_signed_message

from hub.server.auth import Caller, authenticate, sequence_spent, verify_request
from hub.server.context import CLOCK, CONFIG, STORE, now_ms
from hub.server.params import int_param, interval_path_param, json_body
from hub.service import bids, readings

routes = web.RouteTableDef()


@routes.get("/api/v1/home")
async def my_home(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    return web.json_response(caller.home.to_wire())


@routes.post("/api/v1/readings")
async def upload_readings(request: web.Request) -> web.Response:
    """Batch upload; every item gets its own verdict and only accepted items are stored."""
    signed = await verify_request(request)
    config, store = request.app[CONFIG], request.app[STORE]
    async with sequence_spent(request, signed):
        items = readings.parse_upload(json_body(signed.body), config.max_batch)
        result = await readings.ingest(
            store, config, signed.home_id, items, now_ms(request.app), request=signed.sequence
        )
    return web.json_response(result.to_wire())


@routes.get("/api/v1/readings")
async def my_readings(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    since = int_param(request, "since", 0, 0, 2**53)
    limit = int_param(request, "limit", 1000, 1, 10_000)
    records = await request.app[STORE].readings_for(caller.home.home_id, since, limit)
    return web.json_response({"readings": [record.to_wire() for record in records]})


@routes.post("/api/v1/bids")
async def submit_bid(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    signed = await verify_request(request)  # first: a stranger learns nothing, not even the mode
    async with sequence_spent(request, signed):
        bids.check_periodic_market(config)
        message = parse_signed_message(json_body(signed.body), "bid")
        receipt = await bids.take_bid(
            request.app[STORE],
            config,
            signed.key,
            message,
            request.app[CLOCK](),
            request=signed.sequence,
        )
    return web.json_response(receipt.to_wire(), status=200 if receipt.replaced else 201)


@routes.get("/api/v1/bids/{interval_start}")
async def my_bid(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    bid = await request.app[STORE].get_bid(caller.home.home_id, interval_path_param(request))
    if bid is None:
        raise web.HTTPNotFound(text="no bid from this home for that interval")
    return web.json_response(
        {
            "interval_start": bid.interval_start,
            "seq": bid.seq,
            "digest": bid.digest,
            "bid": bid.body,
        }
    )


@routes.get("/api/v1/results")
async def my_results(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    now = int(request.app[CLOCK]())
    # Intervals clear at gate closure, before they start: the default includes the next ones.
    start_to = int_param(request, "to", now + 2 * request.app[CONFIG].interval_seconds, 0, 2**40)
    start_from = int_param(request, "from", start_to - 24 * 3600, 0, 2**40)
    limit = int_param(request, "limit", 96, 1, 3000)
    records = await request.app[STORE].allocations_for_home(
        caller.home.home_id, start_from, start_to, limit
    )
    return web.json_response({"allocations": [record.to_wire() for record in records]})


@routes.get("/api/v1/results/{interval_start}")
async def my_result(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    store = request.app[STORE]
    start = interval_path_param(request)
    interval = await store.get_interval(start)
    if interval is None:
        raise web.HTTPNotFound(text="this interval has not been cleared")
    allocations = await store.allocations_for_home(caller.home.home_id, start, start, 1)
    return web.json_response(
        {
            "interval": interval.to_wire(),
            "allocation": allocations[0].to_wire() if allocations else None,
        }
    )


__all__ = ["Caller", "routes"]
