"""Endpoints for enrolled homes; every request is signed with the home key."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.bids import parse_bid
from gridcoop_home.protocol.envelope import SignedMessage, parse_signed_message
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.reading_rules import ACCEPTED, DUPLICATE, REJECTED

from hub.server.auth import Caller, authenticate, sequence_spent, verify_request
from hub.server.context import CLOCK, CONFIG, STORE, now_ms
from hub.server.params import int_param, interval_path_param, json_body
from hub.service.continuous import check_gate_open
from hub.store import Store

routes = web.RouteTableDef()
INLINE_SIGNATURES = 8  # at most ~1 ms of the event loop


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
        raw = _readings_list(json_body(signed.body), config.max_batch)
        items: list[SignedMessage | ProtocolError] = []
        for entry in raw:
            try:
                items.append(parse_signed_message(entry, "reading"))
            except ProtocolError as err:
                items.append(err)
        signature_ok = await _verify_signatures(store, items)
        verdicts = await store.ingest_readings(
            signed.home_id,
            items,
            signature_ok,
            now_ms(request.app),
            config.reading_window,
            request=signed.sequence,
        )
    counts = {status: 0 for status in (ACCEPTED, DUPLICATE, REJECTED)}
    for verdict in verdicts:
        counts[verdict.status] += 1
    return web.json_response(
        {
            "results": [verdict.to_wire(i) for i, verdict in enumerate(verdicts)],
            "accepted": counts[ACCEPTED],
            "duplicates": counts[DUPLICATE],
            "rejected": counts[REJECTED],
        }
    )


@routes.get("/api/v1/readings")
async def my_readings(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    since = int_param(request, "since", 0, 0, 2**53)
    limit = int_param(request, "limit", 1000, 1, 10_000)
    records = await request.app[STORE].readings_for(caller.home.home_id, since, limit)
    return web.json_response({"readings": [record.to_wire() for record in records]})


@routes.post("/api/v1/bids")
async def submit_bid(request: web.Request) -> web.Response:
    config, store = request.app[CONFIG], request.app[STORE]
    signed = await verify_request(request)  # first: a stranger learns nothing, not even the mode
    async with sequence_spent(request, signed):
        if config.network.continuous:
            raise ProtocolError(
                errors.WRONG_MARKET_MODE,
                "this hub trades continuously: send orders (POST /api/v1/orders), not bids",
            )
        message = parse_signed_message(json_body(signed.body), "bid")
        if message.key_id != signed.key.key_id:
            raise ProtocolError(
                errors.KEY_NOT_YOURS, "a bid must be signed with the caller's home key"
            )
        if not message.signature_valid(signed.key.public_key):
            raise ProtocolError(errors.BAD_SIGNATURE, "bid signature does not verify")
        bid = parse_bid(message.body, config.bid_limits)
        check_gate_open(config, request.app[CLOCK](), bid.interval_start)
        replaced = await store.save_bid(
            signed.home_id, message, bid.interval_start, now_ms(request.app), signed.sequence
        )
    return web.json_response(
        {
            "interval_start": bid.interval_start,
            "status": "replaced" if replaced else "stored",
            "digest": message.digest,
            "gate_closure": config.gate_closure_of(bid.interval_start),
        },
        status=200 if replaced else 201,
    )


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


def _readings_list(body: Any, max_batch: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("readings"), list):
        raise ProtocolError(errors.MALFORMED, 'body must be {"readings": [signed readings]}')
    readings: list[Any] = body["readings"]
    if not readings:
        raise ProtocolError(errors.MALFORMED, "readings must not be empty")
    if len(readings) > max_batch:
        raise ProtocolError(
            errors.OUT_OF_BOUNDS, f"{len(readings)} readings in one batch, at most {max_batch}"
        )
    return readings


async def _verify_signatures(
    store: Store, items: list[SignedMessage | ProtocolError]
) -> dict[int, bool]:
    """Ed25519 costs ~0.1 ms a signature: a few are checked right here (a thread hop costs as
    much), a large batch in a worker thread so that it does not stall the event loop."""
    messages = {i: item for i, item in enumerate(items) if isinstance(item, SignedMessage)}
    public_keys = await store.public_keys({m.key_id for m in messages.values()})

    def verify_all() -> dict[int, bool]:
        return {
            i: m.key_id in public_keys and m.signature_valid(public_keys[m.key_id])
            for i, m in messages.items()
        }

    if len(messages) <= INLINE_SIGNATURES:
        return verify_all()
    return await asyncio.to_thread(verify_all)


__all__ = ["Caller", "routes"]
