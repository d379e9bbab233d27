"""The OpenAPI 3.1 document served at /api/v1/openapi.json (a test checks it matches the routes)."""

from __future__ import annotations

from typing import Any

from gridcoop_home.protocol.schema import SCHEMAS, Schema

import hub
from hub.server.dashboard.openapi import ADMIN_PATHS, ADMIN_SECURITY_SCHEMES, DASHBOARD_PATHS

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

ORDER_ID_PATH = {
    "name": "order_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "<home_id>:<client_order_id>, as POST /api/v1/orders answered",
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
    "/api/v1/market/intervals/{interval_start}/network": {
        "get": {
            "summary": "What the feeder did: nodal prices, binding limits, loadings, curtailment",
            "description": (
                "404 not_found: not cleared yet; 404 not_configured: cleared without a feeder."
            ),
            "parameters": [INTERVAL_PATH],
            "responses": {"200": _json(_ref("IntervalNetwork")), **_errors(400, 404)},
        }
    },
    "/api/v1/grid": {
        "get": {
            "summary": "The feeder: buses, lines with limits, enrolled homes per bus",
            "description": "404 not_configured when the hub has no feeder.",
            "responses": {"200": _json(GRID_SCHEMA), **_errors(404)},
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
                "content": {"application/json": {"schema": _ref("SignedMessage")}},
            },
            "responses": {
                "201": _json(ORDER_ACCEPTED, "accepted (traded and/or resting)"),
                **_errors(*AUTH_ERRORS, 422),
            },
        }
    },
    "/api/v1/orders/{order_id}": {
        "delete": {
            "summary": "Continuous mode: withdraw what is left of one of the home's orders",
            "security": SIGNED,
            "parameters": [ORDER_ID_PATH],
            "responses": {
                "200": _json(ORDER_CANCELLED),
                **_errors(*AUTH_ERRORS, 404),
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
                "'interval_cleared' {interval: IntervalResult, network?: IntervalNetwork} and, "
                "when the upgrade request is signed with a home key, 'allocation' "
                "{allocation: Allocation}. In continuous mode also 'trade' {interval_start, "
                "trades: [{price, energy_wh}], volume_wh, best_bid, best_ask} for all (no home "
                "ids) and 'fill' {fill: {interval_start, order_id, side, price, energy_wh, "
                "resting_wh}} for the home whose order traded."
            ),
            "responses": {"101": {"description": "switching protocols"}, **_errors(*AUTH_ERRORS)},
        }
    },
}


# -- ledger (served when the hub runs with `[ledger] enabled = true`, see docs/ledger.md) -------

HEIGHT_PATH = {
    "name": "height",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
    "description": "block height (0 = genesis)",
}
HEX: Schema = {"type": "string", "pattern": "^[0-9a-f]*$"}
NULLABLE_INT: Schema = {"type": ["integer", "null"]}
BLOCK_SCHEMA: Schema = {
    "type": "object",
    "required": [
        "height",
        "hash",
        "prev_hash",
        "merkle_root",
        "time_ms",
        "entry_count",
        "interval_start",
        "signers",
        "signature",
        "signer_count",
        "final",
    ],
    "properties": {
        "height": {"type": "integer"},
        "hash": HEX,
        "prev_hash": HEX,
        "merkle_root": HEX,
        "time_ms": {"type": "integer"},
        "entry_count": {"type": "integer"},
        "interval_start": NULLABLE_INT,
        "signers": {"type": "array", "items": {"type": "integer"}},
        "signature": {"oneOf": [HEX, {"type": "null"}]},
        "signer_count": {"type": "integer"},
        "final": {"type": "boolean"},
    },
}
PROOF_SCHEMA: Schema = {
    "type": "object",
    "required": ["entry", "hash", "height", "index", "proof", "block"],
    "properties": {
        "entry": {"type": "object", "required": ["kind"]},
        "hash": HEX,
        "height": NULLABLE_INT,
        "index": NULLABLE_INT,
        "proof": {"type": "array", "items": HEX},
        "block": {"oneOf": [BLOCK_SCHEMA, {"type": "null"}]},
    },
}
VALIDATOR_SCHEMA: Schema = {
    "type": "object",
    "required": ["index", "name", "public_key", "pop", "home_id", "active_from"],
    "properties": {
        "index": {"type": "integer"},
        "name": {"type": "string"},
        "public_key": HEX,
        "pop": HEX,
        "home_id": {"type": ["string", "null"]},
        "active_from": {"type": "integer"},
    },
}
TRANSACTION_SCHEMA: Schema = {
    "type": "object",
    "required": ["kind", "home_id", "units", "key_id", "seq", "ts", "sig"],
    "description": "a transfer or retirement signed by the home key"
    " (gridcoop_home.ledger.transactions)",
    "properties": {
        "kind": {"enum": ["transfer", "retire"]},
        "home_id": {"type": "string"},
        "asset": {"enum": ["flex", "certificate"]},
        "to": {"type": "string"},
        "lot": {"type": ["string", "null"]},
        "units": {"type": "integer"},
        "memo": {"type": "string"},
        "purpose": {"type": "string"},
        "key_id": {"type": "string"},
        "seq": {"type": "integer"},
        "ts": {"type": "integer"},
        "sig": {"type": "string"},
    },
}


PATHS.update(DASHBOARD_PATHS)
PATHS.update(ADMIN_PATHS)


def _object(required: list[str], properties: dict[str, Schema]) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


LEDGER_PATHS: dict[str, Any] = {
    "/api/v1/ledger/head": {
        "get": {
            "summary": "Chain head, latest final block, threshold and validators",
            "responses": {
                "200": _json(
                    _object(
                        ["height", "hash", "final_height", "chain_id", "threshold", "validators"],
                        {
                            "height": {"type": "integer"},
                            "hash": HEX,
                            "final_height": NULLABLE_INT,
                            "chain_id": {"type": "string"},
                            "threshold": {"type": "integer"},
                            "token_unit_wh": {"type": "integer"},
                            "bls_backend": {"type": "string"},
                            "validators": {"type": "array", "items": VALIDATOR_SCHEMA},
                        },
                    )
                )
            },
        }
    },
    "/api/v1/ledger/blocks": {
        "get": {
            "summary": "Block headers with signers and finality, oldest first",
            "parameters": [_query("from", "first height (default 0)"), _query("limit", "1-1000")],
            "responses": {
                "200": _json(
                    _object(["blocks"], {"blocks": {"type": "array", "items": BLOCK_SCHEMA}})
                ),
                **_errors(400),
            },
        }
    },
    "/api/v1/ledger/blocks/{height}": {
        "get": {
            "summary": "One block: header, signers, finality and (unless entries=0) its entries",
            "parameters": [HEIGHT_PATH, _query("entries", "0 = header only")],
            "responses": {
                "200": _json(
                    _object(
                        ["block"],
                        {
                            "block": BLOCK_SCHEMA,
                            "entries": {
                                "type": "array",
                                "items": _object(
                                    ["hash", "data"],
                                    {
                                        "hash": HEX,
                                        "data": {
                                            "type": "string",
                                            "description": "the canonical JSON that was hashed",
                                        },
                                    },
                                ),
                            },
                        },
                    )
                ),
                **_errors(400, 404),
            },
        }
    },
    "/api/v1/ledger/blocks/{height}/signatures": {
        "post": {
            "summary": "A witness co-signs a block (BLS over the block hash)",
            "parameters": [HEIGHT_PATH],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _object(
                            ["validator", "signature"],
                            {"validator": {"type": "integer"}, "signature": HEX},
                        )
                    }
                },
            },
            "responses": {
                **{
                    status: _json(
                        _object(
                            ["height", "status", "signers", "final"],
                            {
                                "height": {"type": "integer"},
                                "status": {"enum": ["signed", "already_signed"]},
                                "signers": {"type": "array", "items": {"type": "integer"}},
                                "final": {"type": "boolean"},
                            },
                        ),
                        description,
                    )
                    for status, description in (("201", "signed"), ("200", "already signed"))
                },
                **_errors(400, 401, 403, 404),
            },
        }
    },
    "/api/v1/ledger/validators": {
        "post": {
            "summary": "Register the calling home's witness key (BLS, with proof of possession)",
            "security": SIGNED,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _object(
                            ["name", "public_key", "pop"],
                            {"name": {"type": "string"}, "public_key": HEX, "pop": HEX},
                        )
                    }
                },
            },
            "responses": {
                "201": _json(
                    _object(
                        ["validator", "entry_hash"],
                        {"validator": {"type": "object"}, "entry_hash": HEX},
                    ),
                    "registered (active from the block after the one that records it)",
                ),
                **_errors(*AUTH_ERRORS, 404, 422),
            },
        }
    },
    "/api/v1/ledger/entries/{entry_hash}": {
        "get": {
            "summary": "An entry with its Merkle inclusion proof and block header",
            "parameters": [
                {
                    "name": "entry_hash",
                    "in": "path",
                    "required": True,
                    "schema": HEX,
                    "description": "the entry's leaf hash",
                }
            ],
            "responses": {"200": _json(PROOF_SCHEMA), **_errors(404)},
        }
    },
    "/api/v1/ledger/homes/{home_id}": {
        "get": {
            "summary": "A home's balances and its latest settlement in a final block, with proof",
            "description": (
                "settlement.entry is the home's format-1 settlement entry, or on an entry-format-2"
                " chain the interval's settled_interval entry, whose settlements table holds one"
                " row per home (gridcoop_home.ledger.light_client.ProofCheck.settlement_of"
                " reads it)."
            ),
            "parameters": [
                {
                    "name": "home_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "the home",
                }
            ],
            "responses": {
                "200": _json(
                    _object(
                        ["account", "settlement"],
                        {
                            "account": _object(
                                ["home_id", "balance_minor", "flex_tokens", "green_certificates"],
                                {
                                    "home_id": {"type": "string"},
                                    "balance_mminor": {"type": "integer"},
                                    "balance_minor": {"type": "integer"},
                                    "flex_tokens": {"type": "integer"},
                                    "utility_tokens": {"type": "integer"},
                                    "tokens_minted": {"type": "integer"},
                                    "tokens_burned": {"type": "integer"},
                                    "green_certificates": {"type": "integer"},
                                    "other_certificates": {"type": "integer"},
                                    "certificate_lots": {"type": "object"},
                                },
                            ),
                            "settlement": {"oneOf": [PROOF_SCHEMA, {"type": "null"}]},
                        },
                    )
                ),
                **_errors(404),
            },
        }
    },
    "/api/v1/ledger/transactions": {
        "post": {
            "summary": "Submit a signed transfer (flexibility tokens, certificates) or retirement",
            "security": SIGNED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": TRANSACTION_SCHEMA}},
            },
            "responses": {
                "201": _json(
                    _object(
                        ["status", "entry_hash", "entry"],
                        {
                            "status": {"const": "pending"},
                            "entry_hash": HEX,
                            "entry": TRANSACTION_SCHEMA,
                        },
                    ),
                    "accepted; sealed into the next block",
                ),
                **_errors(*AUTH_ERRORS, 404, 422),
            },
        }
    },
    "/api/v1/ledger/retirements": {
        "get": {
            "summary": "Retired green certificates (final and public), newest first",
            "parameters": [_query("limit", "1-1000")],
            "responses": {
                "200": _json(
                    _object(
                        ["retirements"],
                        {
                            "retirements": {
                                "type": "array",
                                "items": _object(
                                    ["entry_hash", "home_id", "lot", "units", "purpose", "ts"],
                                    {
                                        "entry_hash": HEX,
                                        "home_id": {"type": "string"},
                                        "lot": {"type": "string"},
                                        "units": {"type": "integer"},
                                        "purpose": {"type": "string"},
                                        "ts": {"type": "integer"},
                                    },
                                ),
                            }
                        },
                    )
                ),
                **_errors(400),
            },
        }
    },
    "/api/v1/ledger/statements/{month}": {
        "get": {
            "summary": "The calling home's monthly statement (JSON, or CSV with format=csv)",
            "security": SIGNED,
            "parameters": [
                {
                    "name": "month",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                    "description": "YYYY-MM in the hub's timezone",
                },
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"enum": ["json", "csv"]},
                    "description": "json (default) or csv",
                },
            ],
            "responses": {
                "200": {
                    "description": "the statement",
                    "content": {
                        "application/json": {
                            "schema": _object(
                                [
                                    "home_id",
                                    "month",
                                    "currency",
                                    "opening_balance_minor",
                                    "closing_balance_minor",
                                    "total_amount_minor",
                                    "lines",
                                ],
                                {
                                    "home_id": {"type": "string"},
                                    "month": {"type": "string"},
                                    "currency": {"type": "string"},
                                    "opening_balance_minor": {"type": "integer"},
                                    "closing_balance_minor": {"type": "integer"},
                                    "total_amount_minor": {"type": "integer"},
                                    "intervals": {"type": "integer"},
                                    "lines": {"type": "array", "items": {"type": "object"}},
                                },
                            )
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_errors(*AUTH_ERRORS),
            },
        }
    },
    "/api/v1/ledger/export": {
        "get": {
            "summary": "The whole chain as JSON lines (`python -m hub verify --export FILE`)",
            "responses": {
                "200": {
                    "description": "hub.ledger.chain.export format",
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                }
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
                status: _json(
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
RETRY_AFTER = {
    "Retry-After": {"description": "whole seconds to wait", "schema": {"type": "integer"}}
}
# Any operation may be refused by the limits ([limits], docs/hub/scale_out.md#limits) or a busy hub.
LIMIT_ANSWERS: dict[str, Any] = {
    "429": {
        **_json(_ref("Error"), "rate_limited (with Retry-After) or too_many_websockets"),
        "headers": RETRY_AFTER,
    },
    "503": {
        **_json(
            _ref("Error"),
            "timeout: the handler ran too long; not_leader (with Retry-After): "
            "only the leader takes continuous orders, ledger writes and settings",
        ),
        "headers": RETRY_AFTER,
    },
}
BODY_TOO_LARGE = {"413": _json(_ref("Error"), "content_too_large: the body exceeds 2 MiB")}


def with_limit_answers(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation with the 429 and 503 answers, and 413 where a body is read."""
    result: dict[str, Any] = {}
    for path, operations in paths.items():
        result[path] = {}
        for method, operation in operations.items():
            extra = {**LIMIT_ANSWERS, **(BODY_TOO_LARGE if method in ("post", "put") else {})}
            responses = {**extra, **operation["responses"]}
            result[path][method] = {**operation, "responses": responses}
    return result


def openapi_document(ledger: bool = False, workers: bool = False) -> dict[str, Any]:
    """The API document; with `ledger`, the ledger's endpoints too (served when it is enabled),
    with `workers` GET /health/leader (served by `serve`, which may run as one of several)."""
    paths = {**PATHS, **LEDGER_PATHS} if ledger else dict(PATHS)
    paths = with_limit_answers({**paths, **(LEADER_PATH if workers else {})})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GridCoop hub API",
            "version": hub.__version__,
            "description": (
                "Neighbourhood energy market hub. Units: energy Wh, power W, prices minor "
                "currency units per kWh, money milli-minor units. Signed requests carry "
                "X-GridCoop-Key-Id, X-GridCoop-Seq, X-GridCoop-Timestamp, Content-Digest and "
                "X-GridCoop-Signature (see docs/protocol.md#signed-requests)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "homeSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-GridCoop-Signature",
                    "description": "Ed25519 signature by the home key over the request",
                },
                **ADMIN_SECURITY_SCHEMES,
            },
        },
    }
