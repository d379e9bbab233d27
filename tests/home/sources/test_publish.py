"""Our expected local price in the Nord Pool (HACS) layout, read back by our own parser."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from gridcoop_home.sources import (
    UNRECORDED_ATTRIBUTES,
    PriceSourceError,
    nordpool_attributes,
    parse_nordpool_hacs,
    prices_for_slots,
)

from tests.home.sources.shapes import (
    AUTUMN_DAY,
    BERLIN,
    QUARTER,
    SPRING_DAY,
    day_bounds_utc,
    local_midnight,
)

DAY = date(2026, 10, 20)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _prices(count: int) -> list[float]:
    """Minor units per kWh with fractions that survive the 5-decimal major-unit rounding."""
    return [20.0 + (i % 96) * 0.125 - (5.0 if i % 7 == 0 else 0.0) for i in range(count)]


def test_the_layout_of_two_whole_days() -> None:
    start = local_midnight(DAY, BERLIN)
    prices = _prices(192)
    now = start + timedelta(hours=14, minutes=20)
    attributes = nordpool_attributes(start, prices, currency="eur", now=now, tz=BERLIN)
    assert attributes["currency"] == "EUR"
    assert attributes["unit"] == "kWh"
    assert attributes["price_in_cents"] is False
    assert len(attributes["raw_today"]) == len(attributes["raw_tomorrow"]) == 96
    first = attributes["raw_today"][0]
    assert first == {
        "start": "2026-10-20T00:00:00+02:00",
        "end": "2026-10-20T00:15:00+02:00",
        "value": pytest.approx(prices[0] / 100),
    }
    assert attributes["today"] == [item["value"] for item in attributes["raw_today"]]
    assert attributes["tomorrow"] == [item["value"] for item in attributes["raw_tomorrow"]]
    assert attributes["tomorrow_valid"] is True
    assert attributes["current_price"] == round(prices[14 * 4 + 1] / 100, 5)  # the 14:15 slot
    assert "rates" not in attributes
    assert attributes.keys() >= UNRECORDED_ATTRIBUTES
    for item in attributes["raw_today"] + attributes["raw_tomorrow"]:
        assert RFC3339.match(item["start"]) and RFC3339.match(item["end"])


def test_a_plan_from_now_leaves_the_past_of_today_out_and_the_third_day_too() -> None:
    now = datetime(2026, 10, 20, 14, 15, tzinfo=BERLIN)
    attributes = nordpool_attributes(now, _prices(192), currency="EUR", now=now, tz=BERLIN)
    assert attributes["raw_today"][0]["start"] == "2026-10-20T14:15:00+02:00"
    assert len(attributes["raw_today"]) == 39  # 14:15 to midnight
    assert len(attributes["raw_tomorrow"]) == 96
    assert attributes["tomorrow_valid"] is True
    assert attributes["current_price"] == attributes["raw_today"][0]["value"]


def test_tomorrow_is_not_valid_until_it_is_whole() -> None:
    now = datetime(2026, 10, 20, 6, 0, tzinfo=BERLIN)
    attributes = nordpool_attributes(now, _prices(96), currency="EUR", now=now, tz=BERLIN)
    assert len(attributes["raw_tomorrow"]) == 24  # 00:00-06:00
    assert attributes["tomorrow_valid"] is False
    later = nordpool_attributes(
        now, _prices(96), currency="EUR", now=now + timedelta(days=3), tz=BERLIN
    )
    assert later["current_price"] is None
    assert later["raw_today"] == later["raw_tomorrow"] == []


@pytest.mark.parametrize(
    ("day", "quarters", "offsets"),
    [(SPRING_DAY, 92, ("+01:00", "+02:00")), (AUTUMN_DAY, 100, ("+02:00", "+01:00"))],
)
def test_dst_days_keep_real_quarters_and_show_the_offset_change(
    day: date, quarters: int, offsets: tuple[str, str]
) -> None:
    start = local_midnight(day, BERLIN)
    attributes = nordpool_attributes(start, _prices(quarters), currency="EUR", now=start, tz=BERLIN)
    items = attributes["raw_today"]
    assert len(items) == quarters
    assert items[0]["start"].endswith(offsets[0]) and items[-1]["start"].endswith(offsets[1])
    for item, after in itertools.pairwise(items):
        assert item["end"] == after["start"]
        assert (
            datetime.fromisoformat(item["end"]) - datetime.fromisoformat(item["start"]) == QUARTER
        )


@pytest.mark.parametrize("day", [DAY, SPRING_DAY, AUTUMN_DAY])
def test_round_trip_publish_then_parse_gives_the_same_slot_prices(day: date) -> None:
    start, _ = day_bounds_utc(day, BERLIN)
    slots = int((day_bounds_utc(day + timedelta(days=1), BERLIN)[1] - start) / QUARTER)
    prices = _prices(slots)
    attributes = nordpool_attributes(start, prices, currency="EUR", now=start, tz=BERLIN)
    over_the_api = json.loads(json.dumps(attributes))  # what REST and websocket clients see
    series = parse_nordpool_hacs(over_the_api)
    back = prices_for_slots(series, start, slots, tz=BERLIN)
    assert back.prices == pytest.approx(prices, abs=1e-9)
    assert all(back.from_source)
    assert back.warnings == ()


def test_values_are_rounded_to_five_decimals_of_the_major_unit() -> None:
    start = datetime(2026, 10, 20, tzinfo=UTC)
    attributes = nordpool_attributes(start, [12.3456789], currency="EUR", now=start, tz=UTC)
    assert attributes["raw_today"][0]["value"] == 0.12346


def test_a_currency_with_1000_minor_units() -> None:
    start = datetime(2026, 10, 20, tzinfo=UTC)
    attributes = nordpool_attributes(
        start, [45.0], currency="KWD", now=start, tz=UTC, minor_per_major=1000
    )
    assert attributes["current_price"] == 0.045


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start": datetime(2026, 10, 20)}, "start"),
        ({"now": datetime(2026, 10, 20)}, "now"),
        ({"currency": "euro"}, "currency"),
        ({"prices": [1.0, float("nan")]}, "prices[1]"),
        ({"prices": [1.0, "2"]}, "prices[1]"),
        ({"minor_per_major": 0}, "minor_per_major"),
    ],
)
def test_bad_arguments_name_the_field(changes: dict[str, Any], field: str) -> None:
    start = datetime(2026, 10, 20, tzinfo=UTC)
    arguments: dict[str, Any] = {
        "start": start,
        "prices": [1.0],
        "currency": "EUR",
        "now": start,
        "tz": UTC,
    }
    arguments.update(changes)
    with pytest.raises(PriceSourceError) as caught:
        nordpool_attributes(**arguments)
    assert caught.value.field == field
