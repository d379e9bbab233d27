"""Building blocks shared by every part of the OpenAPI document: answers, parameters, schemas and
the refusals any operation may meet (rate limits, timeouts, oversized bodies)."""

from __future__ import annotations

from typing import Any

from gridcoop_home.protocol.schema import Schema

from hub.server.params import MAX_INTERVAL_START

SIGNED: list[dict[str, list[str]]] = [{"homeSignature": []}]
ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]
AUTH_ERRORS = (400, 401, 403, 409)


def json_answer(schema: Schema, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema: Schema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def refusals(*statuses: int) -> dict[str, Any]:
    return {
        str(status): json_answer(ref("Error"), "refused, with a reason code") for status in statuses
    }


def query_param(name: str, description: str, low: int, high: int) -> dict[str, Any]:
    """An optional integer query parameter within [low, high] (the server refuses anything else
    with 400 `malformed`: hub.server.params.parameters_middleware)."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": low, "maximum": high},
        "description": description,
    }


def path_param(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": kind},
        "description": description,
    }


def int_schema(description: str = "", nullable: bool = False) -> Schema:
    schema: Schema = {"type": ["integer", "null"] if nullable else "integer"}
    if description:
        schema["description"] = description
    return schema


def number_schema(description: str = "", nullable: bool = False) -> Schema:
    schema: Schema = {"type": ["number", "null"] if nullable else "number"}
    if description:
        schema["description"] = description
    return schema


def closed_object(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """An object with exactly these properties, all required but the `optional` ones."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


INTERVAL_PATH = {
    "name": "interval_start",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INTERVAL_START},
    "description": "interval start, UTC seconds",
}

# -- what any operation may answer ----------------------------------------------------------------

RETRY_AFTER = {
    "Retry-After": {"description": "whole seconds to wait", "schema": {"type": "integer"}}
}
# Any operation may be refused by the limits ([limits], docs/hub/scale_out.md#limits) or a busy hub.
LIMIT_ANSWERS: dict[str, Any] = {
    "429": {
        **json_answer(ref("Error"), "rate_limited (with Retry-After) or too_many_websockets"),
        "headers": RETRY_AFTER,
    },
    "503": {
        **json_answer(
            ref("Error"),
            "timeout: the handler ran too long; not_leader (with Retry-After): "
            "only the leader takes continuous orders, ledger writes and settings",
        ),
        "headers": RETRY_AFTER,
    },
}
BODY_TOO_LARGE = {"413": json_answer(ref("Error"), "content_too_large: the body exceeds 2 MiB")}


BAD_PARAMETER = {
    "400": json_answer(
        ref("Error"), "malformed: a path or query parameter outside its schema, or given twice"
    )
}


def with_limit_answers(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation with the 429 and 503 answers, 413 where a body is read and 400 where it
    has parameters (hub.server.params checks them against this document)."""
    result: dict[str, Any] = {}
    for path, operations in paths.items():
        result[path] = {}
        for method, operation in operations.items():
            extra = {
                **LIMIT_ANSWERS,
                **(BODY_TOO_LARGE if method in ("post", "put") else {}),
                **(BAD_PARAMETER if operation.get("parameters") else {}),
            }
            responses = {**extra, **operation["responses"]}
            result[path][method] = {**operation, "responses": responses}
    return result
