"""Query and path parameter parsing with clear 400 answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError


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


MAX_INTERVAL_START = 2**40  # UTC seconds: far beyond any real date, far inside int64


def interval_path_param(request: web.Request) -> int:
    try:
        value = int(request.match_info["interval_start"])
    except ValueError as err:
        raise ProtocolError(MALFORMED, "interval_start must be UTC seconds") from err
    if not 0 <= value <= MAX_INTERVAL_START:
        raise ProtocolError(MALFORMED, f"interval_start must be within 0-{MAX_INTERVAL_START}")
    return value


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProtocolError(MALFORMED, f"body is not valid JSON: {err}") from err
    except RecursionError as err:
        raise ProtocolError(MALFORMED, "body is nested too deeply") from err
