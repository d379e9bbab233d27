"""OpenAPI schemas of the ledger's wire shapes: blocks, inclusion proofs, validators and the
homes' signed transactions."""

from __future__ import annotations

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
