"""Parsers from each Home Assistant price format into a `PriceSeries`.

The shapes, and where they come from (read in the integrations' source, HA 2026.10):

- Nord Pool (core) action `nordpool.get_prices_for_date`: `{AREA: [{start, end, price}]}`,
  UTC ISO times, price in currency per **MWh** (15-minute intervals since 1 Oct 2025).
- Nord Pool (HACS, custom-components/nordpool) sensor attributes `raw_today`/`raw_tomorrow`:
  lists of `{start, end, value}`, local times with offset, value in currency per `unit` (kWh by
  default) with VAT and additional costs, in cents when `price_in_cents`.
- Tibber (core) action `tibber.get_prices`: `{"prices": {home: [{start_time, price}]}}`, local
  times with offset, no end, price (total incl. VAT) in currency per kWh.
- ENTSO-e (HACS, JaccoR/hass-entso-e) attributes `prices_today`/`prices_tomorrow`/`prices`:
  `{time, price}` with `str(datetime)` times ("2025-10-20 00:00:00+02:00"), no end.
- Octopus Energy (HACS, BottlecapDave) event entities' attribute `rates`:
  `{start, end, value_inc_vat}`, GBP per kWh, 30-minute intervals.
- Anything else: a list of objects (`parse_price_list`) or an `{ISO time: price}` map
  (`parse_price_map`), with the unit given by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from gridcoop_home.sources.errors import PriceSourceError
from gridcoop_home.sources.parsing import as_list, as_mapping, as_number, as_text, as_utc, item
from gridcoop_home.sources.prices import (
    DEFAULT_MINOR_PER_MAJOR,
    PriceInterval,
    PriceSeries,
    PriceUnit,
    build_series,
    energy_unit,
    intervals_from_starts,
)

E = PriceSourceError
QUARTER_HOUR = timedelta(minutes=15)
HOUR = timedelta(hours=1)

# Key names tried, in order, when a generic list does not name its keys.
START_KEYS = ("start", "start_time", "startsAt", "from", "valid_from", "time", "timestamp")
END_KEYS = ("end", "end_time", "endsAt", "to", "till", "valid_to")
VALUE_KEYS = ("value", "price", "value_inc_vat", "total", "rate", "per_kwh")


def parse_nordpool_prices(
    response: Mapping[str, Any],
    *,
    currency: str,
    area: str | None = None,
    minor_per_major: int = DEFAULT_MINOR_PER_MAJOR,
) -> PriceSeries:
    """The response of `nordpool.get_prices_for_date` (one area; prices per MWh, UTC)."""
    areas = as_mapping(response, "response", E)
    if area is None:
        if len(areas) != 1:
            raise E("area", f"the response has areas {sorted(areas)}: name one")
        area = next(iter(areas))
    entries = as_list(item(areas, area, "response", E), area, E)
    unit = PriceUnit(currency.upper(), "MWh", minor_per_major=minor_per_major)
    intervals = _intervals(entries, area, "start", "end", "price", unit)
    return build_series(unit.currency, intervals, f"Nord Pool {area}")


def parse_nordpool_hacs(
    attributes: Mapping[str, Any], *, minor_per_major: int = DEFAULT_MINOR_PER_MAJOR
) -> PriceSeries:
    """A Nord Pool (HACS) sensor's attributes: `raw_today` and `raw_tomorrow` (may be empty)."""
    attrs = as_mapping(attributes, "attributes", E)
    currency = as_text(item(attrs, "currency", "attributes", E), "currency", E)
    energy = energy_unit(str(attrs.get("unit") or "kWh"), "unit")
    in_cents = attrs.get("price_in_cents") is True
    unit = PriceUnit(currency.upper(), energy, in_cents, minor_per_major)
    today = as_list(item(attrs, "raw_today", "attributes", E), "raw_today", E)
    tomorrow = as_list(attrs.get("raw_tomorrow") or [], "raw_tomorrow", E)
    intervals = _intervals(today, "raw_today", "start", "end", "value", unit)
    intervals += _intervals(tomorrow, "raw_tomorrow", "start", "end", "value", unit)
    region = attrs.get("region")
    return build_series(unit.currency, intervals, f"Nord Pool {region or ''}".strip())


def parse_tibber_prices(
    response: Mapping[str, Any],
    *,
    currency: str,
    home: str | None = None,
    minor_per_major: int = DEFAULT_MINOR_PER_MAJOR,
) -> PriceSeries:
    """The response of `tibber.get_prices` for one home (15-minute prices per kWh, no end)."""
    homes = as_mapping(
        item(as_mapping(response, "response", E), "prices", "response", E), "prices", E
    )
    if home is None:
        if len(homes) != 1:
            raise E("home", f"the response has homes {sorted(homes)}: name one")
        home = next(iter(homes))
    field = f"prices.{home}"
    entries = as_list(item(homes, home, "prices", E), field, E)
    unit = PriceUnit(currency.upper(), minor_per_major=minor_per_major)
    points = _points(entries, field, "start_time", "price", unit)
    intervals = intervals_from_starts(points, QUARTER_HOUR)
    return build_series(unit.currency, intervals, f"Tibber {home}")


def parse_entsoe(
    attributes: Mapping[str, Any], *, unit: str | PriceUnit = "EUR/kWh"
) -> PriceSeries:
    """An ENTSO-e (HACS) sensor's attributes: `prices_today`, `prices_tomorrow` and/or `prices`.

    `unit` is the sensor's unit of measurement (the attributes do not carry it).
    """
    attrs = as_mapping(attributes, "attributes", E)
    price_unit = unit if isinstance(unit, PriceUnit) else PriceUnit.parse(unit)
    keys = [key for key in ("prices", "prices_today", "prices_tomorrow") if attrs.get(key)]
    if not keys and not any(key in attrs for key in ("prices_today", "prices")):
        raise E("prices_today", "missing (neither prices_today nor prices is there)")
    points: list[tuple[datetime, float]] = []
    for key in keys:
        points += _points(as_list(attrs[key], key, E), key, "time", "price", price_unit)
    intervals = intervals_from_starts(points, HOUR)
    return build_series(price_unit.currency, intervals, "ENTSO-e")


def parse_octopus_rates(
    *events: Mapping[str, Any], minor_per_major: int = DEFAULT_MINOR_PER_MAJOR
) -> PriceSeries:
    """Octopus Energy (HACS) rate event entities' attributes, oldest first (previous/current/next
    day): each has `rates` of `{start, end, value_inc_vat}` in GBP per kWh."""
    unit = PriceUnit("GBP", minor_per_major=minor_per_major)
    intervals: list[PriceInterval] = []
    for index, event in enumerate(events):
        prefix = f"[{index}]." if len(events) > 1 else ""
        attrs = as_mapping(event, f"{prefix}attributes", E)
        rates = as_list(item(attrs, "rates", f"{prefix}attributes", E), f"{prefix}rates", E)
        intervals += _intervals(rates, f"{prefix}rates", "start", "end", "value_inc_vat", unit)
    return build_series(unit.currency, intervals, "Octopus Energy")


def parse_price_list(
    items: Sequence[Any],
    *,
    unit: str | PriceUnit,
    field: str = "prices",
    start_key: str | None = None,
    end_key: str | None = None,
    value_key: str | None = None,
    default_step: timedelta = HOUR,
    source: str = "price list",
) -> PriceSeries:
    """A list of price objects from any attribute; keys are detected from the first object
    (start: start, start_time, from, time...; end: end, to, till... optional; value: value,
    price...) unless given. Without an end key each price lasts until the next start."""
    entries = as_list(items, field, E)
    price_unit = unit if isinstance(unit, PriceUnit) else PriceUnit.parse(unit)
    if not entries:
        return build_series(price_unit.currency, [], source)
    first = as_mapping(entries[0], f"{field}[0]", E)
    start_key = start_key or _detect(first, START_KEYS, f"{field}[0]", "start time")
    value_key = value_key or _detect(first, VALUE_KEYS, f"{field}[0]", "price")
    if end_key is None:
        end_key = next((key for key in END_KEYS if key in first), None)
    if end_key is not None:
        intervals = _intervals(entries, field, start_key, end_key, value_key, price_unit)
    else:
        points = _points(entries, field, start_key, value_key, price_unit)
        intervals = intervals_from_starts(points, default_step)
    return build_series(price_unit.currency, intervals, source)


def parse_price_map(
    prices: Mapping[str, Any],
    *,
    unit: str | PriceUnit,
    field: str = "prices",
    default_step: timedelta = HOUR,
    source: str = "price map",
) -> PriceSeries:
    """An `{ISO start time: price}` map (the shape EMHASS accepts); each price lasts until the
    next start."""
    price_unit = unit if isinstance(unit, PriceUnit) else PriceUnit.parse(unit)
    points = [
        (
            as_utc(key, f"{field}[{key!r}]", E),
            price_unit.to_minor_per_kwh(as_number(value, f"{field}[{key!r}]", E)),
        )
        for key, value in as_mapping(prices, field, E).items()
        if value is not None
    ]
    return build_series(price_unit.currency, intervals_from_starts(points, default_step), source)


def _detect(first: Mapping[str, Any], candidates: Sequence[str], field: str, what: str) -> str:
    for key in candidates:
        if key in first:
            return key
    raise E(field, f"no {what} key (tried {', '.join(candidates)}); keys are {sorted(first)}")


def _intervals(
    entries: Sequence[Any],
    field: str,
    start_key: str,
    end_key: str,
    value_key: str,
    unit: PriceUnit,
) -> list[PriceInterval]:
    intervals = []
    for index, raw in enumerate(entries):
        where = f"{field}[{index}]"
        entry = as_mapping(raw, where, E)
        value = item(entry, value_key, where, E)
        if value is None:  # a source's way of saying "no price here": a gap
            continue
        start = as_utc(item(entry, start_key, where, E), f"{where}.{start_key}", E)
        end = as_utc(item(entry, end_key, where, E), f"{where}.{end_key}", E)
        if end <= start:
            raise E(f"{where}.{end_key}", f"not after {start_key} ({entry[end_key]!r})")
        price = unit.to_minor_per_kwh(as_number(value, f"{where}.{value_key}", E))
        intervals.append(PriceInterval(start, end, price))
    return intervals


def _points(
    entries: Sequence[Any], field: str, start_key: str, value_key: str, unit: PriceUnit
) -> list[tuple[datetime, float]]:
    points = []
    for index, raw in enumerate(entries):
        where = f"{field}[{index}]"
        entry = as_mapping(raw, where, E)
        value = item(entry, value_key, where, E)
        if value is None:
            continue
        start = as_utc(item(entry, start_key, where, E), f"{where}.{start_key}", E)
        points.append((start, unit.to_minor_per_kwh(as_number(value, f"{where}.{value_key}", E))))
    return points
