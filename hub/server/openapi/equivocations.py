"""OpenAPI paths of equivocation proofs (hub.ledger.service.equivocations; the wire shape is
gridcoop_home.ledger.heads.Equivocation): a witness reports two headers the hub signed at one
height, the hub keeps and lists them. The request schema states every field's type and range;
what it cannot state (one height, two different blocks, the hub among the signers, a stated hash
that is the header's) is a 422 `invalid_entry`, a signature that does not verify a 401."""

from __future__ import annotations

from typing import Any

from gridcoop_home.ledger.heads import (
    EQUIVOCATION_FORMAT,
    HASH_HEX,
    MAX_INT,
    MAX_SIGNER_INDEX,
    MAX_TEXT,
)
from gridcoop_home.protocol.schema import Schema

from hub.server.openapi.common import json_answer, json_body, refusals
from hub.server.openapi.ledger_schemas import HEX, HEX_BYTES

_HASH: Schema = {"type": "string", "pattern": f"^[0-9a-f]{{{HASH_HEX}}}$"}
_NATURAL: Schema = {"type": "integer", "minimum": 0, "maximum": MAX_INT - 1}
_LABEL: Schema = {"type": "string", "maxLength": MAX_TEXT, "pattern": "^[^\\u0000-\\u001f]*$"}
SIGNED_HEADER_SCHEMA: Schema = {
    "type": "object",
    "description": "a block header with its signers and their aggregate BLS signature",
    "required": [
        "height",
        "prev_hash",
        "merkle_root",
        "time_ms",
        "entry_count",
        "interval_start",
        "hash",
        "signers",
        "signature",
    ],
    "properties": {
        "height": _NATURAL,
        "prev_hash": _HASH,
        "merkle_root": _HASH,
        "time_ms": _NATURAL,
        "entry_count": _NATURAL,
        "interval_start": {"oneOf": [_NATURAL, {"type": "null"}]},
        "hash": _HASH,
        "signers": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": MAX_SIGNER_INDEX},
        },
        "signature": {"oneOf": [HEX_BYTES, {"type": "null"}]},
    },
}
EQUIVOCATION_SCHEMA: Schema = {
    "type": "object",
    "description": "two headers at one height, both signed by the hub (validator 0)",
    "required": ["format", "first", "second"],
    "properties": {
        "format": {"const": EQUIVOCATION_FORMAT},
        "height": _NATURAL,
        "chain_id": {"oneOf": [_LABEL, {"type": "null"}]},
        "genesis_hash": {"oneOf": [_LABEL, {"type": "null"}]},
        "reporter": _LABEL,
        "first": SIGNED_HEADER_SCHEMA,
        "second": SIGNED_HEADER_SCHEMA,
        "validators": {
            "type": "object",
            "description": "validator index -> BLS public key (hex) of the signers",
            "maxProperties": MAX_SIGNER_INDEX + 1,
            "propertyNames": {"pattern": "^[0-9]{1,4}$"},
            "additionalProperties": HEX_BYTES,
        },
    },
}
_KEPT: Schema = {
    "type": "object",
    "required": ["proof_id", "height", "first_hash", "second_hash", "reporter", "received_at"],
    "properties": {
        "proof_id": HEX,
        "height": {"type": "integer"},
        "first_hash": HEX,
        "second_hash": HEX,
        "reporter": {"type": "string"},
        "received_at": {"type": "integer"},
        "proof": EQUIVOCATION_SCHEMA,
    },
}
_RECEIVED: Schema = {
    "type": "object",
    "required": ["status", "proof_id", "height"],
    "properties": {
        "status": {"enum": ["stored", "already_known"]},
        "proof_id": HEX,
        "height": {"type": "integer"},
    },
}

EQUIVOCATION_PATHS: dict[str, Any] = {
    "/api/v1/ledger/equivocations": {
        "get": {
            "summary": "Every proof that the hub signed two blocks at one height (never deleted)",
            "responses": {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["equivocations"],
                        "properties": {"equivocations": {"type": "array", "items": _KEPT}},
                    }
                )
            },
        },
        "post": {
            "summary": "A witness reports two headers the hub signed at one height",
            "description": "No authentication: the hub's own signatures on both headers are the"
            " evidence, checked against the validators this chain records at that height. 422"
            " invalid_entry: not one height, the same block twice, the hub not among the"
            " signers, or a stated hash that is not the header's; 401 bad_block_signature: a"
            " signature that does not verify.",
            "requestBody": json_body(EQUIVOCATION_SCHEMA),
            "responses": {
                "201": json_answer(_RECEIVED, "kept"),
                "200": json_answer(_RECEIVED, "already kept"),
                **refusals(400, 401, 422),
            },
        },
    }
}
