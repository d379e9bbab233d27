"""OpenAPI paths of the enrolled homes (every request signed with the home key): the home, its
readings, bids, continuous orders, results and the WebSocket."""

from __future__ import annotations

from typing import Any

from gridcoop_home.protocol.schema import SCHEMAS, Schema

from hub.server.openapi.common import (
    AUTH_ERRORS,
    INTERVAL_PATH,
    SIGNED,
    json_answer,
    query_param,
    ref,
    refusals,
)
from hub.server.params import MAX_INTERVAL_START, MAX_UTC_MS

ORDER_ID_PATH = {
    "name": "order_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "<home_id>:<client_order_id>, as POST /api/v1/orders answered",
}
ORDER_ACCEPTED: Schema = {
    "type": "object",
    "required": ["order_id", "interval_start", "status", "filled_wh", "resting_wh", "trades"],
    "properties": {
        "order_id": {"type": "string"},
        "interval_start": {"type": "integer"},
        "status": {"enum": ["filled", "partially_filled", "resting"]},
        "filled_wh": {"type": "integer", "description": "traded at once"},
        "resting_wh": {"type": "integer", "description": "left in the book"},
        "trades": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["price", "energy_wh"],
                "properties": {
                    "price": {"type": "integer", "description": "before the fee, minor/kWh"},
                    "energy_wh": {"type": "integer"},
                },
            },
        },
        "blocked": {
            "type": "integer",
            "description": "crossing orders the feeder's headroom did not let it trade with",
        },
        "digest": {"type": "string"},
        "gate_closure": {"type": "integer"},
    },
}
ORDER_CANCELLED: Schema = {
    "type": "object",
    "required": ["order_id", "interval_start", "status", "withdrawn_wh"],
    "properties": {
        "order_id": {"type": "string"},
        "interval_start": {"type": "integer"},
        "status": {"enum": ["cancelled", "nothing_left"]},
        "withdrawn_wh": {"type": "integer"},
    },
}


def signed_message(kind: str, body: Schema, name: str) -> Schema:
    """A SignedMessage of one type whose body is `body`."""
    envelope = SCHEMAS["SignedMessage"]
    return {
        **envelope,
        "description": f"a SignedMessage of type '{kind}' whose body is a {name}",
        "properties": {**envelope["properties"], "type": {"const": kind}, "body": body},
    }


# A bid as a home submits it: at least one step (a stored bid, GET /api/v1/bids/{start}, may
# have none: in continuous mode it is what is left of the home's orders).
BID_SUBMISSION: Schema = {
    **SCHEMAS["BidBody"],
    "anyOf": [
        {"required": ["buy"], "properties": {"buy": {"minItems": 1}}},
        {"required": ["sell"], "properties": {"sell": {"minItems": 1}}},
    ],
}


# What the server takes: items are judged one by one (ReadingBatch is what a client should send).
READING_UPLOAD: Schema = {
    "type": "object",
    "required": ["readings"],
    "properties": {
        "readings": {
            "type": "array",
            "minItems": 1,
            "items": {"description": "a signed reading; anything else is rejected on its own"},
        }
    },
}


def _header(name: str, schema: Schema) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "schema": schema}


# RFC 6455 section 4.1: what makes a GET a WebSocket opening handshake.
WEBSOCKET_HANDSHAKE = [
    _header("Upgrade", {"const": "websocket"}),
    _header("Connection", {"const": "Upgrade"}),
    _header("Sec-WebSocket-Version", {"const": "13"}),
    _header("Sec-WebSocket-Key", {"type": "string", "pattern": "^[A-Za-z0-9+/]{22}==$"}),
]

HOME_PATHS: dict[str, Any] = {
    "/api/v1/home": {
        "get": {
            "summary": "The calling home and its keys",
            "security": SIGNED,
            "responses": {"200": json_answer(ref("Home")), **refusals(*AUTH_ERRORS)},
        }
    },
    "/api/v1/readings": {
        "post": {
            "summary": "Upload a batch of signed meter readings (backlog allowed)",
            "security": SIGNED,
            "description": (
                "Each item should be a SignedMessage of type 'reading' (see ReadingBatch); an "
                "item that is not gets its own verdict (rejected, malformed) and the rest of the "
                "batch still counts. 422 out_of_bounds beyond the hub's max_batch items."
            ),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": READING_UPLOAD}},
            },
            "responses": {
                "200": json_answer(ref("ReadingBatchResult")),
                **refusals(*AUTH_ERRORS, 413, 422),
            },
        },
        "get": {
            "summary": "The calling home's stored readings",
            "security": SIGNED,
            "parameters": [
                query_param("since", "UTC ms", 0, MAX_UTC_MS),
                query_param("limit", "1-10000 (default 1000)", 1, 10_000),
            ],
            "responses": {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["readings"],
                        "properties": {"readings": {"type": "array", "items": ref("Reading")}},
                    }
                ),
                **refusals(*AUTH_ERRORS),
            },
        },
    },
    "/api/v1/bids": {
        "post": {
            "summary": "Submit or replace the bid for an interval (a signed 'bid' message)",
            "security": SIGNED,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": signed_message("bid", BID_SUBMISSION, "BidBody with a step")
                    }
                },
            },
            "responses": {
                **{
                    status: json_answer(
                        {
                            "type": "object",
                            "required": ["interval_start", "status", "digest", "gate_closure"],
                            "properties": {
                                "interval_start": {"type": "integer"},
                                "status": {"enum": ["stored", "replaced"]},
                                "digest": {"type": "string"},
                                "gate_closure": {"type": "integer"},
                            },
                        },
                        description,
                    )
                    for status, description in (("201", "stored"), ("200", "replaced"))
                },
                **refusals(*AUTH_ERRORS, 422),
            },
        }
    },
    "/api/v1/orders": {
        "post": {
            "summary": "Continuous mode: submit a limit order (a signed 'order' message)",
            "description": (
                "The body is a SignedMessage of type 'order' whose body is an OrderBody. "
                "409 wrong_market_mode in periodic mode, gate_closed, duplicate_order, replay; "
                "422 curves_cross when it crosses the home's own orders, out_of_bounds."
            ),
            "security": SIGNED,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": signed_message("order", ref("OrderBody"), "OrderBody")
                    }
                },
            },
            "responses": {
                "201": json_answer(ORDER_ACCEPTED, "accepted (traded and/or resting)"),
                **refusals(*AUTH_ERRORS, 422),
            },
        }
    },
    "/api/v1/orders/{order_id}": {
        "delete": {
            "summary": "Continuous mode: withdraw what is left of one of the home's orders",
            "security": SIGNED,
            "parameters": [ORDER_ID_PATH],
            "responses": {
                "200": json_answer(ORDER_CANCELLED),
                **refusals(*AUTH_ERRORS, 404),
            },
        }
    },
    "/api/v1/bids/{interval_start}": {
        "get": {
            "summary": "The calling home's bid for an interval",
            "security": SIGNED,
            "parameters": [INTERVAL_PATH],
            "responses": {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["interval_start", "seq", "digest", "bid"],
                        "properties": {
                            "interval_start": {"type": "integer"},
                            "seq": {"type": "integer"},
                            "digest": {"type": "string"},
                            "bid": ref("BidBody"),
                        },
                    }
                ),
                **refusals(*AUTH_ERRORS, 404),
            },
        }
    },
    "/api/v1/results": {
        "get": {
            "summary": "The calling home's allocations and dispatch, newest first",
            "security": SIGNED,
            "parameters": [
                query_param("from", "UTC s (default: to - 24 h)", 0, MAX_INTERVAL_START),
                query_param("to", "UTC s (default: now + 2 intervals)", 0, MAX_INTERVAL_START),
                query_param("limit", "1-3000 (default 96)", 1, 3000),
            ],
            "responses": {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["allocations"],
                        "properties": {
                            "allocations": {"type": "array", "items": ref("Allocation")}
                        },
                    }
                ),
                **refusals(*AUTH_ERRORS),
            },
        }
    },
    "/api/v1/results/{interval_start}": {
        "get": {
            "summary": "An interval's public result and the calling home's allocation",
            "security": SIGNED,
            "parameters": [INTERVAL_PATH],
            "responses": {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["interval", "allocation"],
                        "properties": {
                            "interval": ref("IntervalResult"),
                            "allocation": {"oneOf": [ref("Allocation"), {"type": "null"}]},
                        },
                    }
                ),
                **refusals(*AUTH_ERRORS, 404),
            },
        }
    },
    "/api/v1/ws": {
        "get": {
            "summary": "WebSocket: 'interval_cleared' for all, 'allocation' for a signed home",
            "description": (
                "Upgrade to a WebSocket. Messages are JSON objects with a 'type': 'hello', "
                "'interval_cleared' {interval: IntervalResult, network?: IntervalNetwork} and, "
                "when the upgrade request is signed with a home key, 'allocation' "
                "{allocation: Allocation}. In continuous mode also 'trade' {interval_start, "
                "trades: [{price, energy_wh}], volume_wh, best_bid, best_ask} for all (no home "
                "ids) and 'fill' {fill: {interval_start, order_id, side, price, energy_wh, "
                "resting_wh}} for the home whose order traded."
            ),
            "parameters": WEBSOCKET_HANDSHAKE,
            "responses": {"101": {"description": "switching protocols"}, **refusals(*AUTH_ERRORS)},
        }
    },
}
