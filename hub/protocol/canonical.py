"""Canonical JSON: the exact bytes that get hashed and signed.

Sorted keys, no insignificant whitespace, UTF-8, and integers only (no floats anywhere): two
implementations that agree on the value always agree on the bytes, so signatures verify everywhere.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hub.protocol.errors import MALFORMED, ProtocolError

JsonValue = Any  # recursive JSON; checked at runtime by `check_canonical_types`


def check_canonical_types(value: JsonValue, path: str = "$") -> None:
    """Reject what canonical JSON cannot carry: floats, non-string keys, other Python objects."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        raise ProtocolError(MALFORMED, f"{path} is a float; use integer units (Wh, W, minor units)")
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_canonical_types(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ProtocolError(MALFORMED, f"{path} has a non-string key {key!r}")
            check_canonical_types(item, f"{path}.{key}")
        return
    raise ProtocolError(MALFORMED, f"{path} has unsupported type {type(value).__name__}")


def canonical_json(value: JsonValue) -> bytes:
    try:
        check_canonical_types(value)
    except RecursionError as err:
        raise ProtocolError(MALFORMED, "value is nested too deeply") from err
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(value: JsonValue) -> str:
    """Hex SHA-256 of the canonical encoding: the identity of a message everywhere."""
    return sha256_hex(canonical_json(value))
