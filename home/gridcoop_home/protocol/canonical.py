"""Canonical JSON: the exact bytes that get hashed and signed.

Sorted keys, no insignificant whitespace, UTF-8, and integers only (no floats anywhere): two
implementations that agree on the value always agree on the bytes, so signatures verify everywhere.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from gridcoop_home.protocol.errors import MALFORMED, ProtocolError

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
        if _plain(value):
            try:
                return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
            except orjson.JSONEncodeError:
                pass  # an integer beyond 64 bits, or deeper than orjson goes: the slow path
        check_canonical_types(value)
    except RecursionError as err:
        raise ProtocolError(MALFORMED, "value is nested too deeply") from err
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_PLAIN_TYPES = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({dict, list})


def _plain(value: JsonValue) -> bool:
    """Only exact str/int/bool/None values in dicts (string keys) and lists: orjson then writes
    the same bytes as the standard library (sorted keys, compact, UTF-8), ~10x faster. Anything
    else (floats, subclasses, tuples) takes the slow path, which refuses or accepts it as before.
    The type checks run on whole containers at once, in C."""
    kind = type(value)
    if kind is dict:
        if set(map(type, value)) - {str}:
            return False
        items = list(value.values())
    elif kind is list:
        items = value
    else:
        return kind in _PLAIN_TYPES
    types = set(map(type, items))
    if types <= _PLAIN_TYPES:
        return True
    if types - _PLAIN_TYPES - _CONTAINERS:
        return False
    return all(_plain(item) for item in items if type(item) in _CONTAINERS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(value: JsonValue) -> str:
    """Hex SHA-256 of the canonical encoding: the identity of a message everywhere."""
    return sha256_hex(canonical_json(value))
