"""Our expected local price, laid out the way other optimisers already read prices.

`nordpool_attributes` formats per-slot prices as the attributes of a Nord Pool (HACS) price
sensor (custom-components/nordpool): `raw_today` and `raw_tomorrow` lists of `{start, end, value}`
with ISO 8601 times carrying the local UTC offset and values in currency per kWh, the `today` and
`tomorrow` float lists, `tomorrow_valid`, `current_price`, `currency`, `unit`. Predbat reads
`raw_today` + `raw_tomorrow` directly, evcc's custom tariff takes `{start, end, value}` items
through jq, and EMHASS takes an `{ISO time: value}` map built by a template (docs/inputs.md has
the configuration for each). `parse_nordpool_hacs` reads these attributes back.

The lists split on local calendar days; slots past tomorrow have no place in this layout and are
left out. There is deliberately no `rates` attribute: Predbat would prefer it to `raw_today`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from gridcoop_home.planner.inputs import SLOT
from gridcoop_home.sources.errors import PriceSourceError
from gridcoop_home.sources.parsing import slot_starts
from gridcoop_home.sources.prices import DEFAULT_MINOR_PER_MAJOR

# Too large for the recorder (16 KiB of attributes per state): the sensor should not record them.
UNRECORDED_ATTRIBUTES = frozenset({"raw_today", "raw_tomorrow", "today", "tomorrow"})
DECIMALS = 5


def nordpool_attributes(
    start: datetime,
    prices: Sequence[float],
    *,
    currency: str,
    now: datetime,
    tz: tzinfo,
    minor_per_major: int = DEFAULT_MINOR_PER_MAJOR,
    slot: timedelta = SLOT,
) -> dict[str, Any]:
    """Attributes for per-slot `prices` (minor units per kWh) starting at `start`.

    `now` picks `current_price` (None when no slot contains it) and which local day is today.
    Give earlier slots of today too if you have them: Nord Pool's `raw_today` covers the day.
    """
    _check(start, prices, currency, now, minor_per_major, slot)
    today = now.astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    raw: dict[date, list[dict[str, Any]]] = {today: [], tomorrow: []}
    current = None
    for begin, price in zip(slot_starts(start, len(prices), slot), prices, strict=True):
        end = begin + slot
        value = round(price / minor_per_major, DECIMALS)
        if begin <= now < end:
            current = value
        day = begin.astimezone(tz).date()
        if day in raw:
            raw[day].append(_item(begin, end, value, tz))
    return {
        "currency": currency.upper(),
        "unit": "kWh",
        "price_in_cents": False,
        "current_price": current,
        "today": [entry["value"] for entry in raw[today]],
        "tomorrow": [entry["value"] for entry in raw[tomorrow]],
        "tomorrow_valid": _covers_day(raw[tomorrow], tomorrow, tz),
        "raw_today": raw[today],
        "raw_tomorrow": raw[tomorrow],
    }


def _item(begin: datetime, end: datetime, value: float, tz: tzinfo) -> dict[str, Any]:
    # isoformat(), never str(): "T" and the offset, which evcc (Go's RFC 3339) requires.
    return {
        "start": begin.astimezone(tz).isoformat(),
        "end": end.astimezone(tz).isoformat(),
        "value": value,
    }


def _covers_day(entries: list[dict[str, Any]], day: date, tz: tzinfo) -> bool:
    """True when the entries (consecutive slots) run from the day's local midnight to the next."""
    if not entries:
        return False
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    next_day = day + timedelta(days=1)
    next_midnight = datetime(next_day.year, next_day.month, next_day.day, tzinfo=tz)
    first = datetime.fromisoformat(entries[0]["start"])
    last = datetime.fromisoformat(entries[-1]["end"])
    return first <= midnight and last >= next_midnight


def _check(
    start: datetime,
    prices: Sequence[float],
    currency: str,
    now: datetime,
    minor_per_major: int,
    slot: timedelta,
) -> None:
    for name, when in (("start", start), ("now", now)):
        if when.tzinfo is None or when.utcoffset() is None:
            raise PriceSourceError(name, "must be timezone-aware")
    if len(currency.strip()) != 3 or not currency.strip().isalpha():
        raise PriceSourceError("currency", f"expected an ISO 4217 code, got {currency!r}")
    if minor_per_major <= 0:
        raise PriceSourceError("minor_per_major", "must be positive")
    if slot <= timedelta(0):
        raise PriceSourceError("slot", "must be positive")
    for index, price in enumerate(prices):
        if (
            isinstance(price, bool)
            or not isinstance(price, int | float)
            or not math.isfinite(price)
        ):
            raise PriceSourceError(f"prices[{index}]", f"expected a finite number, got {price!r}")
