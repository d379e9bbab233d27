"""The OpenAPI 3.1 document served at /api/v1/openapi.json (a test checks it matches the routes)."""

from __future__ import annotations

from typing import Any

import hub
from hub.protocol.schema import SCHEMAS, Schema

SIGNED: list[dict[str, list[str]]] = [{"homeSignature": []}]


def _json(schema: Schema, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _json(_ref("Error"), "refused, with a reason code") for status in statuses}


def _query(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "integer"},
        "description": description,
    }


INTERVAL_PATH = {
    "name": "interval_start",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
    "description": "interval start, UTC seconds",
}
AUTH_ERRORS = (400, 401, 403, 409)

INFO_SCHEMA: Schema = {
    "type": "object",
    "required": ["hub_version", "protocol_version", "interval_seconds", "gate_closure_seconds"],
    "properties": {
        "hub_version": {"type": "string"},
        "protocol_version": {"type": "integer"},
        "server_time_ms": {"type": "integer"},
        "current_interval_start": {"type": "integer"},
        "next_open_interval_start": {"type": "integer"},
        "retail_price": {"type": "integer"},
        "feed_in_price": {"type": "integer"},
        "interval_seconds": {"type": "integer"},
        "gate_closure_seconds": {"type": "integer"},
        "bid_horizon_seconds": {"type": "integer"},
        "fee_per_kwh": {"type": "integer"},
        "k_percent": {"type": "integer"},
        "currency": {"type": "string"},
        "timezone": {"type": "string"},
        "bid_limits": {"type": "object"},
    },
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Liveness and version",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["status", "version"],
                        "properties": {
                            "status": {"const": "ok"},
                            "version": {"type": "string"},
                            "database": {"enum": ["sqlite", "postgresql"]},
                        },
                    }
                )
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": _json({"type": "object"})}}
    },
    "/api/v1/info": {
        "get": {
            "summary": "Hub version, protocol version, market settings and current grid prices",
            "responses": {"200": _json(INFO_SCHEMA)},
        }
    },
    "/api/v1/market/intervals": {
        "get": {
            "summary": "Cleared intervals (public market data), newest first",
            "parameters": [
                _query("from", "first interval start, UTC s (default: to - 24 h)"),
                _query("to", "last interval start, UTC s (default: now)"),
                _query("limit", "at most this many (1-3000, default 96)"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["intervals"],
                        "properties": {
                            "intervals": {"type": "array", "items": _ref("IntervalResult")}
                        },
                    }
                ),
                **_errors(400),
            },
        }
    },
    "/api/v1/market/intervals/{interval_start}": {
        "get": {
            "summary": "One cleared interval",
            "parameters": [INTERVAL_PATH],
            "responses": {"200": _json(_ref("IntervalResult")), **_errors(400, 404)},
        }
    },
    "/api/v1/market/tariffs": {
        "get": {
            "summary": "Grid retail and feed-in prices for the coming intervals",
            "parameters": [_query("intervals", "how many intervals (1-400, default 96)")],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["currency", "tariffs"],
                        "properties": {
                            "currency": {"type": "string"},
                            "tariffs": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["interval_start", "retail_price", "feed_in_price"],
                                    "properties": {
                                        "interval_start": {"type": "integer"},
                                        "retail_price": {"type": "integer"},
                                        "feed_in_price": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    }
                ),
                **_errors(400),
            },
        }
    },
    "/api/v1/enrol": {
        "post": {
            "summary": "Join the hub with a one-time code, the home key and the meter keys",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("Enrolment")}},
            },
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "required": ["home", "protocol_version"],
                        "properties": {
                            "home": _ref("Home"),
                            "protocol_version": {"type": "integer"},
                        },
                    },
                    "enrolled",
                ),
                **_errors(400, 401, 404, 409, 410),
            },
        }
    },
    "/api/v1/home": {
        "get": {
            "summary": "The calling home and its keys",
            "security": SIGNED,
            "responses": {"200": _json(_ref("Home")), **_errors(*AUTH_ERRORS)},
        }
    },
    "/api/v1/readings": {
        "post": {
            "summary": "Upload a batch of signed meter readings (backlog allowed)",
            "security": SIGNED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("ReadingBatch")}},
            },
            "responses": {
                "200": _json(_ref("ReadingBatchResult")),
                **_errors(*AUTH_ERRORS, 413, 422),
            },
        },
        "get": {
            "summary": "The calling home's stored readings",
            "security": SIGNED,
            "parameters": [_query("since", "UTC ms"), _query("limit", "1-10000")],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["readings"],
                        "properties": {"readings": {"type": "array", "items": _ref("Reading")}},
                    }
                ),
                **_errors(*AUTH_ERRORS),
            },
        },
    },
    "/api/v1/bids": {
        "post": {
            "summary": "Submit or replace the bid for an interval (a signed 'bid' message)",
            "security": SIGNED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("SignedMessage")}},
            },
            "responses": {
                **{
                    status: _json(
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
                **_errors(*AUTH_ERRORS, 422),
            },
        }
    },
    "/api/v1/bids/{interval_start}": {
        "get": {
            "summary": "The calling home's bid for an interval",
            "security": SIGNED,
            "parameters": [INTERVAL_PATH],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["interval_start", "seq", "digest", "bid"],
                        "properties": {
                            "interval_start": {"type": "integer"},
                            "seq": {"type": "integer"},
                            "digest": {"type": "string"},
                            "bid": _ref("BidBody"),
                        },
                    }
                ),
                **_errors(*AUTH_ERRORS, 404),
            },
        }
    },
    "/api/v1/results": {
        "get": {
            "summary": "The calling home's allocations and dispatch, newest first",
            "security": SIGNED,
            "parameters": [
                _query("from", "UTC s"),
                _query("to", "UTC s"),
                _query("limit", "1-3000"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["allocations"],
                        "properties": {
                            "allocations": {"type": "array", "items": _ref("Allocation")}
                        },
                    }
                ),
                **_errors(*AUTH_ERRORS),
            },
        }
    },
    "/api/v1/results/{interval_start}": {
        "get": {
            "summary": "An interval's public result and the calling home's allocation",
            "security": SIGNED,
            "parameters": [INTERVAL_PATH],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["interval", "allocation"],
                        "properties": {
                            "interval": _ref("IntervalResult"),
                            "allocation": {"oneOf": [_ref("Allocation"), {"type": "null"}]},
                        },
                    }
                ),
                **_errors(*AUTH_ERRORS, 404),
            },
        }
    },
    "/api/v1/ws": {
        "get": {
            "summary": "WebSocket: 'interval_cleared' for all, 'allocation' for a signed home",
            "description": (
                "Upgrade to a WebSocket. Messages are JSON objects with a 'type': 'hello', "
                "'interval_cleared' {interval: IntervalResult} and, when the upgrade request is "
                "signed with a home key, 'allocation' {allocation: Allocation}."
            ),
            "responses": {"101": {"description": "switching protocols"}, **_errors(*AUTH_ERRORS)},
        }
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GridCoop hub API",
            "version": hub.__version__,
            "description": (
                "Neighbourhood energy market hub. Units: energy Wh, power W, prices minor "
                "currency units per kWh, money milli-minor units. Signed requests carry "
                "X-GridCoop-Key-Id, X-GridCoop-Seq, X-GridCoop-Timestamp, Content-Digest and "
                "X-GridCoop-Signature (see README, 'Signed requests')."
            ),
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "homeSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-GridCoop-Signature",
                    "description": "Ed25519 signature by the home key over the request",
                }
            },
        },
    }
