"""Checked conversions of JSON-like values (what Home Assistant hands over) to typed values.

Every failure raises the caller's error class with the field's path, so a user reading a repair
issue learns which attribute of which entity is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from gridcoop_home.planner.inputs import SLOT
from gridcoop_home.sources.errors import SourceError


def as_utc(value: object, field: str, error: type[SourceError]) -> datetime:
    """An aware datetime, or an ISO 8601 string with a UTC offset ('T' or ' ' separator, 'Z')."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise error(field, f"not an ISO 8601 date and time: {value!r}") from None
    else:
        raise error(field, f"expected a date and time, got {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # A local time without an offset is ambiguous on the autumn DST night: refuse to guess.
        raise error(field, f"has no UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def as_number(value: object, field: str, error: type[SourceError]) -> float:
    """A finite number; numeric strings (Home Assistant states are strings) are accepted."""
    if isinstance(value, bool):
        raise error(field, f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise error(field, f"expected a number, got {value!r}") from None
    else:
        got = "nothing" if value is None else type(value).__name__
        raise error(field, f"expected a number, got {got}")
    if not math.isfinite(number):
        raise error(field, f"expected a finite number, got {value!r}")
    return number


def as_mapping(value: object, field: str, error: type[SourceError]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        got = "nothing" if value is None else type(value).__name__
        raise error(field, f"expected an object (mapping), got {got}")
    return value


def as_list(value: object, field: str, error: type[SourceError]) -> Sequence[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        got = "nothing" if value is None else type(value).__name__
        raise error(field, f"expected a list, got {got}")
    return value


def as_text(value: object, field: str, error: type[SourceError]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise error(field, f"expected a non-empty string, got {value!r}")
    return value.strip()


def item(items: Mapping[str, Any], key: str, field: str, error: type[SourceError]) -> Any:
    """`items[key]`, or an error naming `field.key` when it is missing."""
    if key not in items:
        raise error(f"{field}.{key}", "missing")
    return items[key]


def slot_starts(start: datetime, count: int, slot: timedelta = SLOT) -> list[datetime]:
    """The UTC start of each slot. Stepping in UTC matters: an aware local datetime plus a
    timedelta is wall-clock arithmetic, which would skip or repeat an hour on DST days."""
    origin = start.astimezone(UTC)
    return [origin + i * slot for i in range(count)]
