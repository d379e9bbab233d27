"""Query and path parameter parsing with clear 400 answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub.protocol.errors import MALFORMED, ProtocolError


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ProtocolError(MALFORMED, f"query parameter {name!r} must be an integer") from err
    if not low <= value <= high:
        raise ProtocolError(MALFORMED, f"query parameter {name!r} must be within {low}-{high}")
    return value


def interval_path_param(request: web.Request) -> int:
    try:
        return int(request.match_info["interval_start"])
    except ValueError as err:
        raise ProtocolError(MALFORMED, "interval_start must be UTC seconds") from err


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProtocolError(MALFORMED, f"body is not valid JSON: {err}") from err
