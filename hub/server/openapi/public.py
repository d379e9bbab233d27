"""OpenAPI paths anyone may call: health, hub info, public market and grid data, enrolment."""

from __future__ import annotations

from typing import Any

from gridcoop_home.protocol.schema import Schema

from hub.server.openapi.common import INTERVAL_PATH, json_answer, query_param, ref, refusals
from hub.server.params import MAX_INTERVAL_START, MAX_INTERVALS_LISTED, MAX_TARIFF_INTERVALS

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
        "market_mode": {
            "enum": ["periodic", "continuous"],
            "description": "periodic: bids cleared at gate closure; continuous: an order book",
        },
        "feeder_configured": {
            "type": "boolean",
            "description": "clearing respects a feeder's limits (GET /api/v1/grid)",
        },
    },
}

LIMIT_KVA: Schema = {"type": "number", "description": "thermal limit, kVA"}
GRID_SCHEMA: Schema = {
    "type": "object",
    "required": ["name", "market_mode", "transformer", "buses", "lines", "home_count"],
    "properties": {
        "name": {"type": "string"},
        "market_mode": {"enum": ["periodic", "continuous"]},
        "nominal_kv": {"type": "number"},
        "voltage_limits_pu": {
            "type": "object",
            "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
        },
        "transformer": {
            "type": "object",
            "required": ["name", "bus", "limit_kva"],
            "properties": {
                "name": {"type": "string"},
                "bus": {"type": "integer"},
                "limit_kva": LIMIT_KVA,
                "voltage_pu": {"type": "number"},
            },
        },
        "buses": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name", "homes"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "homes": {"type": "integer", "description": "enrolled homes at this bus"},
                },
            },
        },
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "from_bus", "to_bus", "limit_kva"],
                "properties": {
                    "name": {"type": "string"},
                    "from_bus": {"type": "integer"},
                    "to_bus": {"type": "integer"},
                    "r_ohm": {"type": "number"},
                    "x_ohm": {"type": "number"},
                    "limit_kva": LIMIT_KVA,
                },
            },
        },
        "home_count": {"type": "integer", "description": "enrolled homes placed on a bus"},
        "homes_without_bus": {
            "type": "integer",
            "description": "enrolled homes the feeder cannot place (their intervals clear on "
            "the backstop)",
        },
    },
}

PUBLIC_PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Liveness and version",
            "responses": {
                "200": json_answer(
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
        "get": {"summary": "This document", "responses": {"200": json_answer({"type": "object"})}}
    },
    "/api/v1/info": {
        "get": {
            "summary": "Hub version, protocol version, market settings and current grid prices",
            "responses": {"200": json_answer(INFO_SCHEMA)},
        }
    },
    "/api/v1/market/intervals": {
        "get": {
            "summary": "Cleared intervals (public market data), newest first",
            "parameters": [
                query_param(
                    "from",
                    "first interval start, UTC s (default: to - 24 h); after `to`: none",
                    0,
                    MAX_INTERVAL_START,
                ),
                query_param(
                    "to",
                    "last interval start, UTC s (default: now + 2 intervals)",
                    0,
                    MAX_INTERVAL_START,
                ),
                query_param("limit", "at most this many (default 96)", 1, MAX_INTERVALS_LISTED),
            ],
            "responses": {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["intervals"],
                        "properties": {
                            "intervals": {"type": "array", "items": ref("IntervalResult")}
                        },
                    }
                ),
                **refusals(400),
            },
        }
    },
    "/api/v1/market/intervals/{interval_start}": {
        "get": {
            "summary": "One cleared interval",
            "parameters": [INTERVAL_PATH],
            "responses": {"200": json_answer(ref("IntervalResult")), **refusals(400, 404)},
        }
    },
    "/api/v1/market/intervals/{interval_start}/network": {
        "get": {
            "summary": "What the feeder did: nodal prices, binding limits, loadings, curtailment",
            "description": (
                "404 not_found: not cleared yet; 404 not_configured: cleared without a feeder."
            ),
            "parameters": [INTERVAL_PATH],
            "responses": {"200": json_answer(ref("IntervalNetwork")), **refusals(400, 404)},
        }
    },
    "/api/v1/grid": {
        "get": {
            "summary": "The feeder: buses, lines with limits, enrolled homes per bus",
            "description": "404 not_configured when the hub has no feeder.",
            "responses": {"200": json_answer(GRID_SCHEMA), **refusals(404)},
        }
    },
    "/api/v1/market/tariffs": {
        "get": {
            "summary": "Grid retail and feed-in prices for the coming intervals",
            "parameters": [
                query_param("intervals", "how many intervals (default 96)", 1, MAX_TARIFF_INTERVALS)
            ],
            "responses": {
                "200": json_answer(
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
                **refusals(400),
            },
        }
    },
    "/api/v1/enrol": {
        "post": {
            "summary": "Join the hub with a one-time code, the home key and the meter keys",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("Enrolment")}},
            },
            "responses": {
                "201": json_answer(
                    {
                        "type": "object",
                        "required": ["home", "protocol_version"],
                        "properties": {
                            "home": ref("Home"),
                            "protocol_version": {"type": "integer"},
                        },
                    },
                    "enrolled",
                ),
                **refusals(400, 401, 404, 409, 410, 422),
            },
        }
    },
}


LEADER_PATH: dict[str, Any] = {
    "/health/leader": {
        "get": {
            "summary": "Whether this worker leads (clears, seals, takes orders and ledger writes)",
            "description": "For reverse-proxy health checks with several workers "
            "(docs/hub/scale_out.md): 200 on the leader, 503 on the others.",
            "responses": {
                status: json_answer(
                    {
                        "type": "object",
                        "required": ["leader"],
                        "properties": {"leader": {"type": "boolean"}},
                    },
                    description,
                )
                for status, description in (("200", "the leader"), ("503", "a follower"))
            },
        }
    }
}
