"""OpenAPI schemas of the ledger's wire shapes: blocks, inclusion proofs, validators and the
homes' signed transactions."""

from __future__ import annotations

from gridcoop_home.ledger.transactions import ASSETS, MAX_PURPOSE, MAX_UNITS
from gridcoop_home.protocol.schema import Schema

MAX_HEIGHT = 2**53 - 1
HEIGHT_PATH = {
    "name": "height",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_HEIGHT},
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
_TEXT: Schema = {"type": "string", "minLength": 1}
_SIGNED_BY_HOME: dict[str, Schema] = {
    "home_id": _TEXT,
    "units": {"type": "integer", "minimum": 1, "maximum": MAX_UNITS},
    "key_id": _TEXT,
    "seq": {"type": "integer", "minimum": 0},
    "ts": {"type": "integer", "minimum": 0},
    "sig": _TEXT,
}
TRANSFER_SCHEMA: Schema = {
    "type": "object",
    "description": "flexibility tokens (lot null) or certificates of one lot to another "
    "account (422 invalid_entry when `to` is the sender itself)",
    "required": ["kind", "asset", "to", "lot", "memo", *_SIGNED_BY_HOME],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "transfer"},
        "asset": {"enum": list(ASSETS)},
        "to": _TEXT,
        "lot": {"type": ["string", "null"]},
        "memo": {"type": "string", "maxLength": MAX_PURPOSE},
        **_SIGNED_BY_HOME,
    },
    "if": {"properties": {"asset": {"const": "flex"}}},
    "then": {"properties": {"lot": {"type": "null"}}},
    "else": {"properties": {"lot": _TEXT}},
}
RETIREMENT_SCHEMA: Schema = {
    "type": "object",
    "description": "retire green certificates of a lot for a purpose (final and public)",
    "required": ["kind", "lot", "purpose", *_SIGNED_BY_HOME],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "retire"},
        "lot": _TEXT,
        "purpose": {"type": "string", "minLength": 1, "maxLength": MAX_PURPOSE},
        **_SIGNED_BY_HOME,
    },
}
TRANSACTION_SCHEMA: Schema = {
    "description": "a transfer or retirement signed by the home key"
    " (gridcoop_home.ledger.transactions)",
    "oneOf": [TRANSFER_SCHEMA, RETIREMENT_SCHEMA],
}
HEX_BYTES: Schema = {"type": "string", "pattern": "^([0-9a-f]{2})*$"}
VALIDATOR_REGISTRATION: Schema = {
    "type": "object",
    "required": ["name", "public_key", "pop"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "public_key": {**HEX_BYTES, "description": "BLS12-381 G1 public key, hex"},
        "pop": {**HEX_BYTES, "description": "proof of possession (BLS signature), hex"},
    },
}

# A home's monthly statement: what the home gets itself (GET /api/v1/ledger/statements/{month})
# and what the operator gets for it (GET /api/v1/admin/statements/{month}/homes/{home_id}).
STATEMENT_SCHEMA: Schema = {
    "type": "object",
    "required": [
        "home_id",
        "month",
        "currency",
        "opening_balance_minor",
        "closing_balance_minor",
        "total_amount_minor",
        "lines",
    ],
    "properties": {
        "home_id": {"type": "string"},
        "month": {"type": "string"},
        "currency": {"type": "string"},
        "opening_balance_minor": {"type": "integer"},
        "closing_balance_minor": {"type": "integer"},
        "total_amount_minor": {"type": "integer"},
        "intervals": {"type": "integer"},
        "lines": {"type": "array", "items": {"type": "object"}},
    },
}
