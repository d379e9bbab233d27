"""A price entity's attributes as a `PriceSeries`: which of the known layouts it uses is detected.

Tried in this order (gridcoop_home.sources parses each and names any malformed field):

1. Nord Pool (HACS): `raw_today` / `raw_tomorrow` lists of `{start, end, value}`.
2. Octopus Energy (HACS) rate events: `rates` of `{start, end, value_inc_vat}`.
3. ENTSO-e (HACS): `prices_today` / `prices_tomorrow` / `prices` of `{time, price}`.
4. Any other attribute holding a list of `{start..., price...}` objects (several such
   attributes, e.g. `today` and `tomorrow` lists, are merged) or an `{ISO time: price}` map,
   priced in the entity's unit of measurement ("EUR/kWh", "c/kWh", "SEK/MWh").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gridcoop_home.sources import (
    PriceSeries,
    PriceSourceError,
    merge_series,
    parse_entsoe,
    parse_nordpool_hacs,
    parse_octopus_rates,
    parse_price_list,
    parse_price_map,
)
from gridcoop_home.sources.prices import PriceUnit
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import State

ENTSOE_KEYS = ("prices_today", "prices_tomorrow", "prices")


def parse_price_state(state: State, home_currency: str) -> PriceSeries:
    """The series an entity's attributes hold, in the home's currency; `PriceSourceError` when
    there is none or it is malformed."""
    attrs: Mapping[str, Any] = state.attributes
    if "raw_today" in attrs:
        series = parse_nordpool_hacs(attrs)
    elif isinstance(attrs.get("rates"), list):
        series = parse_octopus_rates(attrs)
    elif any(isinstance(attrs.get(key), list) for key in ENTSOE_KEYS):
        series = parse_entsoe(attrs, unit=_unit(attrs, home_currency))
    else:
        series = _generic(attrs, home_currency)
    if series.currency != home_currency.upper():
        raise PriceSourceError(
            "currency", f"prices are in {series.currency}, the home pays in {home_currency}"
        )
    return series


def _unit(attrs: Mapping[str, Any], home_currency: str) -> PriceUnit:
    text = attrs.get(ATTR_UNIT_OF_MEASUREMENT)
    if not isinstance(text, str) or not text.strip():
        raise PriceSourceError(
            ATTR_UNIT_OF_MEASUREMENT, "missing: the price unit, e.g. EUR/kWh or c/kWh"
        )
    try:
        return PriceUnit.parse(text)
    except PriceSourceError:  # "c/kWh", "kr/kWh": the unit names no (single) currency
        return PriceUnit.parse(text, currency=str(attrs.get("currency") or home_currency))


def _generic(attrs: Mapping[str, Any], home_currency: str) -> PriceSeries:
    lists = {
        key: value
        for key, value in attrs.items()
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value)
    }
    maps = {
        key: value
        for key, value in attrs.items()
        if isinstance(value, Mapping) and value and all(_is_time(k) for k in value)
    }
    if not lists and not maps:
        raise PriceSourceError(
            "attributes",
            "no price series (looked for raw_today, rates, prices_today, a list of "
            "{start, price} objects or an {ISO time: price} map)",
        )
    unit = _unit(attrs, home_currency)
    series = [parse_price_list(v, unit=unit, field=k, source=k) for k, v in lists.items()]
    series += [parse_price_map(v, unit=unit, field=k, source=k) for k, v in maps.items()]
    return merge_series(*series)


def _is_time(key: object) -> bool:
    if not isinstance(key, str):
        return False
    try:
        return datetime.fromisoformat(key).tzinfo is not None
    except ValueError:
        return False
