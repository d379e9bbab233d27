"""OpenAPI paths of the ledger (served when the hub runs with `[ledger] enabled = true`, see
docs/ledger.md): blocks and finality, co-signatures, validators, entries with their proofs, home
accounts, transactions, retirements, statements and the export."""

from __future__ import annotations

from typing import Any

from gridcoop_home.protocol.schema import Schema

from hub.ledger.accounts.statements import MONTH_PATTERN
from hub.server.openapi.common import AUTH_ERRORS, SIGNED, json_answer, query_param, refusals
from hub.server.openapi.equivocations import EQUIVOCATION_PATHS
from hub.server.openapi.ledger_schemas import (
    BLOCK_SCHEMA,
    HEIGHT_PATH,
    HEX,
    HEX_BYTES,
    MAX_HEIGHT,
    NULLABLE_INT,
    PROOF_SCHEMA,
    STATEMENT_SCHEMA,
    TRANSACTION_SCHEMA,
    VALIDATOR_REGISTRATION,
    VALIDATOR_SCHEMA,
)


def _object(required: list[str], properties: dict[str, Schema]) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


LEDGER_PATHS: dict[str, Any] = {
    "/api/v1/ledger/head": {
        "get": {
            "summary": "Chain head, latest final block, threshold and validators",
            "responses": {
                "200": json_answer(
                    _object(
                        ["height", "hash", "final_height", "chain_id", "threshold", "validators"],
                        {
                            "height": {"type": "integer"},
                            "hash": HEX,
                            "final_height": NULLABLE_INT,
                            "chain_id": {"type": "string"},
                            "threshold": {"type": "integer"},
                            "token_unit_wh": {"type": "integer"},
                            "settlement_deadline_seconds": {
                                "type": "integer",
                                "description": "how long after an interval ends the hub settles it",
                            },
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
            "parameters": [
                query_param("from", "first height (default 0)", 0, MAX_HEIGHT),
                query_param("limit", "1-1000 (default 100)", 1, 1000),
            ],
            "responses": {
                "200": json_answer(
                    _object(["blocks"], {"blocks": {"type": "array", "items": BLOCK_SCHEMA}})
                ),
                **refusals(400),
            },
        }
    },
    "/api/v1/ledger/blocks/{height}": {
        "get": {
            "summary": "One block: header, signers, finality and (unless entries=0) its entries",
            "parameters": [
                HEIGHT_PATH,
                query_param("entries", "0 = header only, 1 = with entries (default)", 0, 1),
            ],
            "responses": {
                "200": json_answer(
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
                **refusals(400, 404),
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
                            {"validator": {"type": "integer"}, "signature": HEX_BYTES},
                        )
                    }
                },
            },
            "responses": {
                **{
                    status: json_answer(
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
                **refusals(400, 401, 403, 404),
            },
        }
    },
    "/api/v1/ledger/validators": {
        "post": {
            "summary": "Register the calling home's witness key (BLS, with proof of possession)",
            "security": SIGNED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": VALIDATOR_REGISTRATION}},
            },
            "responses": {
                "201": json_answer(
                    _object(
                        ["validator", "entry_hash"],
                        {"validator": {"type": "object"}, "entry_hash": HEX},
                    ),
                    "registered (active from the block after the one that records it)",
                ),
                **refusals(*AUTH_ERRORS, 404, 422),
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
            "responses": {"200": json_answer(PROOF_SCHEMA), **refusals(404)},
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
                "200": json_answer(
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
                            "settled_height": {
                                **NULLABLE_INT,
                                "description": "the block of the home's latest settlement, final"
                                " or not: the balance is as of this block",
                            },
                        },
                    )
                ),
                **refusals(404),
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
                "201": json_answer(
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
                **refusals(*AUTH_ERRORS, 404, 422),
            },
        }
    },
    "/api/v1/ledger/retirements": {
        "get": {
            "summary": "Retired green certificates (final and public), newest first",
            "parameters": [query_param("limit", "1-1000 (default 100)", 1, 1000)],
            "responses": {
                "200": json_answer(
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
                **refusals(400),
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
                    "schema": {
                        "type": "string",
                        "pattern": MONTH_PATTERN,
                    },
                    "description": "YYYY-MM in the hub's timezone (1970-01 to 2999-12)",
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
                        "application/json": {"schema": STATEMENT_SCHEMA},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **refusals(*AUTH_ERRORS),
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
LEDGER_PATHS |= EQUIVOCATION_PATHS
