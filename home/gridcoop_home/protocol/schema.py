"""JSON Schemas (2020-12, as used by OpenAPI 3.1) of every wire message.

This module and the dataclasses beside it are the single definition of the wire format; the hub's
OpenAPI document is assembled from these schemas.
"""

from __future__ import annotations

from typing import Any

from gridcoop_home.protocol.allocation import WIRE_FIELDS as ALLOCATION_FIELDS
from gridcoop_home.protocol.bids import ASSET_PATTERN, DEVICE_PATTERN, MAX_BASELINE_DEVICES
from gridcoop_home.protocol.enrolment import MAX_METERS
from gridcoop_home.protocol.envelope import MAX_SEQ
from gridcoop_home.protocol.grid_limit import GRID_LIMIT_SCHEMA
from gridcoop_home.protocol.orders import CLIENT_ORDER_ID_PATTERN, SIDES
from gridcoop_home.protocol.readings import METER_KINDS

Schema = dict[str, Any]


def _int(description: str, minimum: int | None = None, maximum: int | None = None) -> Schema:
    schema: Schema = {"type": "integer", "description": description}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


NULLABLE_INT: Schema = {"type": ["integer", "null"]}
# A raw 32-byte Ed25519 public key, base64url without padding (gridcoop_home.protocol.keys).
PUBLIC_KEY: Schema = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{43}$",
    "description": "base64url raw Ed25519 public key",
}
# How an interval was cleared: uniform_price (no feeder), merit_order (a feeder, no limit bound),
# lp (network-constrained), backstop (the feeder could not be checked or satisfied), continuous.
CLEARING_METHODS = ["uniform_price", "merit_order", "lp", "backstop", "continuous"]

ALLOCATION_PROPERTIES: dict[str, Schema] = {
    "interval_start": _int("UTC seconds", 0),
    "home_id": {"type": "string"},
    "bought_local_wh": _int("Wh", 0),
    "sold_local_wh": _int("Wh", 0),
    "bought_grid_wh": _int("Wh", 0),
    "sold_grid_wh": _int("Wh", 0),
    "paid_mminor": _int("milli-minor units (negative when prices are)"),
    "received_mminor": _int("milli-minor units"),
    "fees_mminor": _int("milli-minor units", 0),
    "bid_digest": {"type": "string"},
    "dispatch": {"type": "array", "items": _ref("DispatchCommand")},
    "curtailed_buy_wh": _int("purchases the feeder could not carry, Wh", 0),
    "curtailed_sell_wh": _int("sales the feeder could not carry, Wh", 0),
    "grid_limit": GRID_LIMIT_SCHEMA,
}

SCHEMAS: dict[str, Schema] = {
    "Error": _obj(
        {
            "error": {"type": "string", "description": "stable reason code"},
            "detail": {"type": "string", "description": "human explanation"},
        }
    ),
    "SignedMessage": _obj(
        {
            "v": {"const": 1},
            "type": {"enum": ["reading", "bid", "order"]},
            "key_id": {
                "type": "string",
                "minLength": 1,
                "description": "hex SHA-256 prefix of the signing key",
            },
            "seq": _int("strictly increasing per key", 0, MAX_SEQ),
            "ts": _int("UTC milliseconds since the epoch", 0, MAX_SEQ),
            "body": {"type": "object"},
            "sig": {
                "type": "string",
                "minLength": 1,
                "description": "base64url Ed25519 over canonical JSON",
            },
        }
    ),
    "ReadingBody": _obj(
        {
            "import_wh": _int("cumulative import register, Wh", 0),
            "export_wh": _int("cumulative export register, Wh", 0),
        }
    ),
    "BidStep": _obj(
        {
            "price": _int("minor currency units per kWh"),
            "energy_wh": _int("energy of this step, Wh", 1),
            "asset": {"type": "string", "pattern": ASSET_PATTERN.pattern},
        },
        required=["price", "energy_wh"],
    ),
    "BidBody": _obj(
        {
            "interval_start": _int("UTC seconds, aligned to the market interval", 0),
            "buy": {
                "type": "array",
                "items": _ref("BidStep"),
                "description": "prices non-increasing",
            },
            "sell": {
                "type": "array",
                "items": _ref("BidStep"),
                "description": "prices non-decreasing",
            },
            "baseline": {
                "type": "object",
                "description": "each device's energy (Wh, + takes, - supplies) when none of its"
                " steps fills; a filled buy step raises its device's energy, a filled sell step"
                " lowers it. Absent devices: 0.",
                "propertyNames": {"pattern": DEVICE_PATTERN.pattern},
                "additionalProperties": {"type": "integer"},
                "maxProperties": MAX_BASELINE_DEVICES,
            },
        },
        required=["interval_start"],
    ),
    "OrderBody": _obj(
        {
            "interval_start": _int("UTC seconds, aligned to the market interval", 0),
            "side": {"enum": list(SIDES)},
            "price": _int("limit price, minor currency units per kWh"),
            "energy_wh": _int("Wh", 1),
            "asset": {"type": "string", "pattern": ASSET_PATTERN.pattern},
            "client_order_id": {
                "type": "string",
                "pattern": CLIENT_ORDER_ID_PATTERN.pattern,
                "description": "the hub's order id is <home_id>:<client_order_id>",
            },
        },
        required=["interval_start", "side", "price", "energy_wh", "client_order_id"],
    ),
    "ReadingBatch": _obj(
        {"readings": {"type": "array", "items": _ref("SignedMessage"), "minItems": 1}}
    ),
    "ReadingVerdict": _obj(
        {
            "index": _int("position in the batch", 0),
            "status": {"enum": ["accepted", "duplicate", "rejected"]},
            "reason": {"type": "string"},
            "detail": {"type": "string"},
        },
        required=["index", "status"],
    ),
    "ReadingBatchResult": _obj(
        {
            "results": {"type": "array", "items": _ref("ReadingVerdict")},
            "accepted": _int("items stored", 0),
            "duplicates": _int("items already stored before (counted once)", 0),
            "rejected": _int("items refused; nothing of them was stored", 0),
        }
    ),
    "Reading": _obj(
        {
            "meter_key_id": {"type": "string"},
            "seq": _int("sequence", 0),
            "ts": _int("UTC ms", 0),
            "import_wh": _int("Wh", 0),
            "export_wh": _int("Wh", 0),
            "digest": {"type": "string"},
        }
    ),
    "MeterKey": _obj(
        {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "unique within the home",
            },
            "kind": {"enum": list(METER_KINDS)},
            "public_key": PUBLIC_KEY,
        }
    ),
    "Enrolment": _obj(
        {
            "join_code": {"type": "string", "minLength": 1},
            "home_key": PUBLIC_KEY,
            "meters": {"type": "array", "items": _ref("MeterKey"), "maxItems": MAX_METERS},
            "proofs": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "key id -> signature of the canonical enrolment payload",
            },
        }
    ),
    "Key": _obj(
        {
            "key_id": {"type": "string"},
            "kind": {"enum": ["home", *METER_KINDS]},
            "name": {"type": "string"},
            "public_key": {"type": "string"},
            "revoked": {"type": "boolean"},
        }
    ),
    "Home": _obj(
        {
            "home_id": {"type": "string"},
            "name": {"type": "string"},
            "bus": NULLABLE_INT,
            "created_at": _int("UTC ms", 0),
            "revoked": {"type": "boolean"},
            "keys": {"type": "array", "items": _ref("Key")},
        }
    ),
    "DispatchCommand": _obj(
        {
            "device": {"type": "string", "pattern": ASSET_PATTERN.pattern},
            "action": {
                "enum": [
                    "charge",
                    "discharge",
                    "idle",
                    "pause",
                    "start",
                    "defer",
                    "curtail",
                    "export",
                ]
            },
            "power_w": _int("average power over the interval, W", 0),
            "energy_wh": _int("energy over the interval, Wh", 0),
            "reason": {"type": "string"},
        }
    ),
    "IntervalResult": _obj(
        {
            "interval_start": _int("UTC seconds", 0),
            "interval_end": _int("UTC seconds", 0),
            "cleared_at": _int("UTC ms", 0),
            "late": {"type": "boolean", "description": "cleared after the interval began"},
            "price": {**NULLABLE_INT, "description": "clearing price; null = no local trade"},
            "price_low": NULLABLE_INT,
            "price_high": NULLABLE_INT,
            "volume_wh": _int("energy traded locally", 0),
            "retail_price": _int("grid import price, minor/kWh"),
            "feed_in_price": _int("grid export price, minor/kWh"),
            "fee_per_kwh": _int("fee per side of a local trade", 0),
            "k_percent": _int("k of the k-double auction", 0),
            "welfare_mminor": _int("gains from local trade, milli-minor units"),
            "fees_mminor": _int("fees collected, milli-minor units", 0),
            "grid_import_wh": _int("Wh bought from the grid backstop", 0),
            "grid_export_wh": _int("Wh sold to the grid backstop", 0),
            "participants": _int("homes that bid", 0),
            "method": {"enum": CLEARING_METHODS, "description": "how the interval was cleared"},
            "fallback_reason": {
                "type": ["string", "null"],
                "description": "why the backstop cleared (method 'backstop'), else null",
            },
            "congestion_rent_mminor": _int(
                "what the hub collected beyond the grid's bill and the fees, milli-minor units"
            ),
            "binding": {
                "type": "array",
                "items": _ref("BindingLimit"),
                "description": "network limits that constrained the clearing",
            },
        }
    ),
    "BindingLimit": _obj(
        {
            "kind": {"enum": ["thermal", "voltage_max", "voltage_min"]},
            "element": {"type": "string", "description": "line or transformer name, or 'bus N'"},
            "limit": {"type": "number", "description": "loading (1 = rated) or voltage, p.u."},
            "value": {"type": "number", "description": "LinDistFlow estimate at the optimum"},
            "description": {"type": "string"},
        }
    ),
    "NodalPrice": _obj(
        {
            "bus": _int("bus id", 0),
            "price": {**NULLABLE_INT, "description": "local price here; null = no local trade"},
            "import_price": _int("grid import price here, minor/kWh"),
            "export_price": _int("grid export price here, minor/kWh"),
            "congestion": _int("what the network adds here to every price, minor/kWh"),
            "reasons": {
                "type": "array",
                "items": _ref("BindingLimit"),
                "description": "the limits that moved this bus's price, strongest first",
            },
            "voltage_pu": {
                "type": ["number", "null"],
                "description": "LinDistFlow voltage of the cleared dispatch, p.u.",
            },
        }
    ),
    "BranchLoading": _obj(
        {
            "element": {"type": "string", "description": "line or transformer name"},
            "bus": _int("the bus this branch feeds", 0),
            "loading": {"type": "number", "description": "apparent power / rating (1 = rated)"},
        }
    ),
    "BusCurtailment": _obj(
        {
            "bus": _int("bus id", 0),
            "homes": _int("homes curtailed at this bus", 1),
            "buy_wh": _int("purchases the network could not carry, Wh", 0),
            "sell_wh": _int("sales the network could not carry, Wh", 0),
        }
    ),
    "IntervalNetwork": _obj(
        {
            "interval_start": _int("UTC seconds", 0),
            "feeder": {"type": "string", "description": "the feeder's name"},
            "method": {"enum": CLEARING_METHODS},
            "fallback_reason": {"type": ["string", "null"]},
            "congestion_rent_mminor": _int("milli-minor units"),
            "binding": {"type": "array", "items": _ref("BindingLimit")},
            "nodal_prices": {"type": "array", "items": _ref("NodalPrice")},
            "branches": {"type": "array", "items": _ref("BranchLoading")},
            "curtailment": {"type": "array", "items": _ref("BusCurtailment")},
        }
    ),
    # gridcoop_home.protocol.allocation.Allocation: one property per field, in its order.
    "Allocation": _obj(
        {
            name: ALLOCATION_PROPERTIES[name]
            for name in ALLOCATION_FIELDS  # a field without a schema here fails on import
        },
        required=[name for name in ALLOCATION_FIELDS if name != "grid_limit"],
    ),
}
