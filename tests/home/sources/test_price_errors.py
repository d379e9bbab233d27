"""Garbage from a price source raises PriceSourceError naming the field that is wrong."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from gridcoop_home.sources import (
    PriceSourceError,
    parse_entsoe,
    parse_nordpool_hacs,
    parse_nordpool_prices,
    parse_octopus_rates,
    parse_price_list,
    parse_price_map,
    parse_tibber_prices,
)

from tests.home.sources.shapes import (
    entsoe_items,
    nordpool_core_response,
    nordpool_hacs_attributes,
    octopus_event,
    tibber_response,
)

DAY = date(2025, 10, 20)


def _edit(data: Any, change: Callable[[Any], None]) -> Any:
    edited = copy.deepcopy(data)
    change(edited)
    return edited


def _nordpool(change: Callable[[Any], None]) -> None:
    parse_nordpool_prices(_edit(nordpool_core_response(DAY), change), currency="EUR")


def _hacs(change: Callable[[Any], None]) -> None:
    parse_nordpool_hacs(_edit(nordpool_hacs_attributes(DAY), change))


def _tibber(change: Callable[[Any], None]) -> None:
    parse_tibber_prices(_edit(tibber_response(DAY), change), currency="NOK")


def _entsoe(change: Callable[[Any], None]) -> None:
    parse_entsoe(_edit({"prices_today": entsoe_items(DAY)}, change))


def _octopus(change: Callable[[Any], None]) -> None:
    parse_octopus_rates(octopus_event(DAY), _edit(octopus_event(DAY), change))


CASES: list[tuple[str, Callable[[], None], str]] = [
    ("price missing", lambda: _nordpool(lambda r: r["SE3"][0].pop("price")), "SE3[0].price"),
    ("price text", lambda: _nordpool(lambda r: r["SE3"][3].update(price="abc")), "SE3[3].price"),
    (
        "price NaN",
        lambda: _nordpool(lambda r: r["SE3"][3].update(price=float("nan"))),
        "SE3[3].price",
    ),
    ("price bool", lambda: _nordpool(lambda r: r["SE3"][3].update(price=True)), "SE3[3].price"),
    (
        "start garbage",
        lambda: _nordpool(lambda r: r["SE3"][2].update(start="soon")),
        "SE3[2].start",
    ),
    (
        "start without offset",
        lambda: _nordpool(lambda r: r["SE3"][2].update(start="2025-10-20T00:00:00")),
        "SE3[2].start",
    ),
    (
        "end before start",
        lambda: _nordpool(lambda r: r["SE3"][1].update(end=r["SE3"][1]["start"])),
        "SE3[1].end",
    ),
    ("entry not an object", lambda: _nordpool(lambda r: r["SE3"].insert(0, 42)), "SE3[0]"),
    ("area not a list", lambda: _nordpool(lambda r: r.update(SE3="prices")), "SE3"),
    (
        "response not a mapping",
        lambda: parse_nordpool_prices([], currency="EUR"),  # type: ignore[arg-type]
        "response",
    ),
    (
        "unknown area",
        lambda: parse_nordpool_prices(nordpool_core_response(DAY), currency="EUR", area="SE9"),
        "response.SE9",
    ),
    ("raw_today missing", lambda: _hacs(lambda a: a.pop("raw_today")), "attributes.raw_today"),
    ("currency missing", lambda: _hacs(lambda a: a.pop("currency")), "attributes.currency"),
    ("unit not energy", lambda: _hacs(lambda a: a.update(unit="kW")), "unit"),
    (
        "raw_tomorrow not a list",
        lambda: _hacs(lambda a: a.update(raw_tomorrow="later")),
        "raw_tomorrow",
    ),
    (
        "value text",
        lambda: _hacs(lambda a: a["raw_today"][1].update(value="n/a")),
        "raw_today[1].value",
    ),
    (
        "tomorrow end garbage",
        lambda: _hacs(lambda a: a["raw_tomorrow"][7].update(end=17)),
        "raw_tomorrow[7].end",
    ),
    ("tibber prices missing", lambda: _tibber(lambda r: r.pop("prices")), "response.prices"),
    (
        "tibber two homes",
        lambda: _tibber(lambda r: r["prices"].update(Stuga=[])),
        "home",
    ),
    (
        "tibber start",
        lambda: _tibber(
            lambda r: r["prices"]["Hemma"][2].update(start_time="2025-13-01T00:00:00+02:00")
        ),
        "prices.Hemma[2].start_time",
    ),
    ("entsoe no lists", lambda: _entsoe(lambda a: a.pop("prices_today")), "prices_today"),
    (
        "entsoe time",
        lambda: _entsoe(lambda a: a["prices_today"][0].update(time="")),
        "prices_today[0].time",
    ),
    (
        "octopus rates missing",
        lambda: _octopus(lambda e: e.pop("rates")),
        "[1].attributes.rates",
    ),
    (
        "octopus value",
        lambda: _octopus(lambda e: e["rates"][4].update(value_inc_vat=[0.2])),
        "[1].rates[4].value_inc_vat",
    ),
    (
        "generic list without a start key",
        lambda: parse_price_list([{"when": "x", "value": 1}], unit="EUR/kWh"),
        "prices[0]",
    ),
    (
        "generic list is a string",
        lambda: parse_price_list("[]", unit="EUR/kWh"),  # type: ignore[arg-type]
        "prices",
    ),
    (
        "price map key",
        lambda: parse_price_map({"tomorrow": 0.2}, unit="EUR/kWh"),
        "prices['tomorrow']",
    ),
]


@pytest.mark.parametrize(("what", "parse", "field"), CASES, ids=[case[0] for case in CASES])
def test_each_error_names_the_field(what: str, parse: Callable[[], None], field: str) -> None:
    with pytest.raises(PriceSourceError) as caught:
        parse()
    assert caught.value.field == field, what
    assert str(caught.value).startswith(f"{field}: ")
