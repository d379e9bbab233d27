"""Continuous mode: homes submit and cancel limit orders (signed with the home key).

POST /api/v1/orders takes a signed "order" message (gridcoop_home.protocol.orders) and answers with
what
happened at once: the order's trades, what rests in the book, how many crossing orders the
network would not let it trade with. DELETE /api/v1/orders/{order_id} withdraws what is left.
A hub in periodic mode refuses both with 409 `wrong_market_mode`, to an authenticated home only.
"""

from __future__ import annotations

from aiohttp import web
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import parse_signed_message
from gridcoop_home.protocol.errors import ProtocolError

from hub.server.auth import authenticate
from hub.server.context import CONFIG, STORE
from hub.server.params import json_body
from hub.server.runtime import CLEARING
from hub.service.bids import take_order
from hub.service.continuous import ContinuousMarket

routes = web.RouteTableDef()


@routes.post("/api/v1/orders")
async def submit_order(request: web.Request) -> web.Response:
    caller = await authenticate(request)  # first: a stranger learns nothing, not even the mode
    market = _market(request)
    message = parse_signed_message(json_body(caller.body), "order")
    receipt = await take_order(
        request.app[STORE], request.app[CONFIG], market, caller.home, caller.key.key_id, message
    )
    return web.json_response(receipt.to_wire(), status=201)


@routes.delete("/api/v1/orders/{order_id}")
async def cancel_order(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    market = _market(request)
    order_id = request.match_info["order_id"]
    interval_start, withdrawn = await market.cancel(caller.home.home_id, order_id)
    return web.json_response(
        {
            "order_id": order_id,
            "interval_start": interval_start,
            "status": "cancelled" if withdrawn else "nothing_left",
            "withdrawn_wh": withdrawn,
        }
    )


def _market(request: web.Request) -> ContinuousMarket:
    market = request.app[CLEARING].continuous
    if market is None:
        raise ProtocolError(
            errors.WRONG_MARKET_MODE,
            "this hub clears periodically: send bids (POST /api/v1/bids), not orders",
        )
    return market
