"""Each Home Assistant price format parses into UTC intervals in minor currency units per kWh."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from gridcoop_home.sources import (
    PriceSourceError,
    PriceUnit,
    merge_series,
    parse_entsoe,
    parse_nordpool_hacs,
    parse_nordpool_prices,
    parse_octopus_rates,
    parse_price_list,
    parse_price_map,
    parse_tibber_prices,
)

from tests.home.sources.shapes import (
    QUARTER,
    STOCKHOLM,
    entsoe_items,
    nordpool_core_response,
    nordpool_hacs_attributes,
    octopus_event,
    tibber_response,
)

DAY = date(2025, 10, 20)
UTC_MIDNIGHT_CEST = datetime(2025, 10, 19, 22, 0, tzinfo=UTC)  # 2025-10-20 00:00 +02:00


def test_nordpool_core_prices_per_mwh_become_minor_units_per_kwh() -> None:
    # The exact item the HA docs and services.py describe: EUR/MWh, UTC.
    response = {
        "SE3": [
            {
                "start": "2025-10-19T22:00:00+00:00",
                "end": "2025-10-19T22:15:00+00:00",
                "price": 51.23,
            }
        ]
    }
    series = parse_nordpool_prices(response, currency="EUR")
    (interval,) = series.intervals
    assert (interval.start, interval.end) == (UTC_MIDNIGHT_CEST, UTC_MIDNIGHT_CEST + QUARTER)
    assert interval.price == pytest.approx(5.123)  # 51.23 EUR/MWh = 5.123 c/kWh
    assert series.currency == "EUR"
    assert series.resolution == QUARTER


def test_nordpool_core_full_day_is_96_quarters_and_one_area_is_picked() -> None:
    response = nordpool_core_response(DAY, areas=("SE3", "SE4"))
    series = parse_nordpool_prices(response, currency="sek", area="SE4")
    assert len(series.intervals) == 96
    assert series.currency == "SEK"
    assert series.source == "Nord Pool SE4"
    assert series.start == UTC_MIDNIGHT_CEST
    assert series.end == UTC_MIDNIGHT_CEST + timedelta(days=1)
    assert series.intervals[0].price == pytest.approx(response["SE4"][0]["price"] / 10)


def test_nordpool_core_empty_answer_for_tomorrow_is_an_empty_series_not_an_error() -> None:
    series = parse_nordpool_prices(nordpool_core_response(DAY, empty=True), currency="EUR")
    assert series.intervals == ()
    assert series.resolution is None


def test_nordpool_core_needs_an_area_when_there_are_several() -> None:
    with pytest.raises(PriceSourceError) as caught:
        parse_nordpool_prices(nordpool_core_response(DAY, areas=("SE3", "SE4")), currency="EUR")
    assert caught.value.field == "area"


def test_nordpool_hacs_local_times_and_values_per_kwh() -> None:
    attributes = nordpool_hacs_attributes(DAY)
    series = parse_nordpool_hacs(attributes)
    assert len(series.intervals) == 2 * 96
    assert series.currency == "SEK"
    first = series.intervals[0]
    assert first.start == UTC_MIDNIGHT_CEST  # "2025-10-20T00:00:00+02:00"
    assert first.start.tzinfo is UTC
    assert first.price == pytest.approx(attributes["raw_today"][0]["value"] * 100)  # öre
    assert series.end == UTC_MIDNIGHT_CEST + timedelta(days=2)


def test_nordpool_hacs_in_cents_or_per_mwh() -> None:
    item = {"start": "2025-10-20T00:00:00+02:00", "end": "2025-10-20T01:00:00+02:00"}
    in_cents = parse_nordpool_hacs(
        {"currency": "EUR", "price_in_cents": True, "raw_today": [{**item, "value": 24.31}]}
    )
    per_mwh = parse_nordpool_hacs(
        {"currency": "EUR", "unit": "MWh", "raw_today": [{**item, "value": 243.1}]}
    )
    assert in_cents.intervals[0].price == pytest.approx(24.31)
    assert per_mwh.intervals[0].price == pytest.approx(24.31)
    assert in_cents.resolution == timedelta(hours=1)


def test_nordpool_hacs_without_tomorrow_reads_today_only() -> None:
    attributes = nordpool_hacs_attributes(DAY, with_tomorrow=False, raw_tomorrow=None)
    assert len(parse_nordpool_hacs(attributes).intervals) == 96


def test_nordpool_hacs_null_value_is_a_gap() -> None:
    attributes = nordpool_hacs_attributes(DAY, with_tomorrow=False)
    attributes["raw_today"][5]["value"] = None
    series = parse_nordpool_hacs(attributes)
    assert len(series.intervals) == 95
    assert series.intervals[4].end < series.intervals[5].start


def test_tibber_prices_without_end_last_until_the_next_start() -> None:
    response = {
        "prices": {
            "Hemma": [
                {"start_time": "2025-10-20T00:00:00.000+02:00", "price": 0.4695},
                {"start_time": "2025-10-20T00:15:00.000+02:00", "price": 0.4512},
            ]
        }
    }
    series = parse_tibber_prices(response, currency="NOK")
    first, last = series.intervals
    assert first.start == UTC_MIDNIGHT_CEST and first.end == last.start
    assert last.end - last.start == QUARTER  # the last one lasts the usual step
    assert first.price == pytest.approx(46.95)
    assert series.source == "Tibber Hemma"


def test_tibber_full_day() -> None:
    series = parse_tibber_prices(tibber_response(DAY), currency="NOK")
    assert len(series.intervals) == 96
    assert series.resolution == QUARTER


def test_entsoe_space_separated_times_hourly() -> None:
    attributes = {"prices_today": [{"time": "2025-10-20 00:00:00+02:00", "price": 0.10342}]}
    (interval,) = parse_entsoe(attributes).intervals
    assert interval.start == UTC_MIDNIGHT_CEST
    assert interval.end - interval.start == timedelta(hours=1)  # a lone price: the default hour
    assert interval.price == pytest.approx(10.342)


def test_entsoe_merges_prices_today_tomorrow_and_prices_without_duplicates() -> None:
    today = entsoe_items(DAY)
    tomorrow = entsoe_items(DAY + timedelta(days=1))
    attributes = {"prices_today": today, "prices_tomorrow": tomorrow, "prices": today + tomorrow}
    series = parse_entsoe(attributes, unit="EUR/kWh")
    assert len(series.intervals) == 48
    assert series.resolution == timedelta(hours=1)
    assert series.warnings == ()


def test_entsoe_15_minute_period_in_eur_per_mwh() -> None:
    items = [{"time": str(t), "price": 100.0} for t in _local_quarters(4)]
    series = parse_entsoe({"prices_today": items}, unit="EUR/MWh")
    assert [i.price for i in series.intervals] == pytest.approx([10.0] * 4)
    assert series.resolution == QUARTER


def test_octopus_three_day_events_merge_into_30_minute_pence() -> None:
    days = [date(2025, 10, 19), date(2025, 10, 20), date(2025, 10, 21)]
    series = parse_octopus_rates(*(octopus_event(day) for day in days))
    assert series.currency == "GBP"
    assert series.resolution == timedelta(minutes=30)
    assert len(series.intervals) == 3 * 48
    sample = parse_octopus_rates(
        {
            "rates": [
                {
                    "start": "2025-10-20T00:00:00+01:00",
                    "end": "2025-10-20T00:30:00+01:00",
                    "value_inc_vat": 0.2312,
                    "is_capped": False,
                }
            ]
        }
    )
    assert sample.intervals[0].price == pytest.approx(23.12)  # pence per kWh
    assert sample.intervals[0].start == datetime(2025, 10, 19, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("items", "expected_keys"),
    [
        # amberelectric.get_forecasts: start_time/end_time/per_kwh
        (
            [
                {
                    "start_time": "2025-10-20T00:00:00+10:00",
                    "end_time": "2025-10-20T00:30:00+10:00",
                    "per_kwh": 0.25,
                }
            ],
            "start_time/end_time/per_kwh",
        ),
        # green_planet_energy.get_prices and OMIE: start/end/price
        (
            [
                {
                    "start": "2025-10-20T00:00:00+02:00",
                    "end": "2025-10-20T00:15:00+02:00",
                    "price": 0.25,
                }
            ],
            "start/end/price",
        ),
        # Octopus legacy and Predbat-style: from/till/price
        (
            [{"from": "2025-10-20T00:00:00Z", "till": "2025-10-20T01:00:00Z", "price": 0.25}],
            "from/till/price",
        ),
    ],
)
def test_generic_list_detects_its_keys(items: list[dict[str, object]], expected_keys: str) -> None:
    series = parse_price_list(items, unit="EUR/kWh")
    assert series.intervals[0].price == pytest.approx(25.0), expected_keys
    assert series.intervals[0].end > series.intervals[0].start


def test_generic_list_with_named_keys_and_no_end() -> None:
    items = [{"t": str(t), "p": 20.0 + i} for i, t in enumerate(_local_quarters(3))]
    series = parse_price_list(
        items, unit=PriceUnit("EUR", minor=True), start_key="t", value_key="p"
    )
    assert [i.price for i in series.intervals] == [20.0, 21.0, 22.0]
    assert series.resolution == QUARTER


def test_price_map_as_emhass_takes_it() -> None:
    prices = {"2025-10-20T00:00:00+02:00": 0.2, "2025-10-20T01:00:00+02:00": 0.3}
    series = parse_price_map(prices, unit="EUR/kWh")
    assert [i.price for i in series.intervals] == pytest.approx([20.0, 30.0])
    assert series.intervals[0].end == series.intervals[1].start


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("EUR/kWh", None, PriceUnit("EUR", "kWh", minor=False)),
        ("SEK/MWh", None, PriceUnit("SEK", "MWh", minor=False)),
        ("eur/kwh", None, PriceUnit("EUR", "kWh", minor=False)),
        ("€/kWh", None, PriceUnit("EUR", "kWh", minor=False)),
        ("c/kWh", "EUR", PriceUnit("EUR", "kWh", minor=True)),
        ("öre/kWh", "SEK", PriceUnit("SEK", "kWh", minor=True)),
        ("p/kWh", "GBP", PriceUnit("GBP", "kWh", minor=True)),
        ("$/kWh", "AUD", PriceUnit("AUD", "kWh", minor=False)),
    ],
)
def test_units_of_measurement(text: str, currency: str | None, expected: PriceUnit) -> None:
    assert PriceUnit.parse(text, currency=currency) == expected


@pytest.mark.parametrize("text", ["EUR", "EUR/kW", "c/kWh", "/kWh", "$/kWh", "kr/kWh"])
def test_units_that_are_not_prices_per_energy(text: str) -> None:
    with pytest.raises(PriceSourceError) as caught:
        PriceUnit.parse(text)
    assert caught.value.field == "unit"


def test_normalisation_with_a_currency_of_1000_minor_units() -> None:
    unit = PriceUnit("KWD", "MWh", minor_per_major=1000)
    assert unit.to_minor_per_kwh(50.0) == pytest.approx(50.0)  # 0.05 KWD/kWh = 50 fils


def test_merging_today_and_tomorrow_responses() -> None:
    today = parse_nordpool_prices(nordpool_core_response(DAY), currency="EUR")
    tomorrow = parse_nordpool_prices(
        nordpool_core_response(DAY + timedelta(days=1)), currency="EUR"
    )
    merged = merge_series(today, tomorrow)
    assert len(merged.intervals) == 192
    assert merged.intervals == today.intervals + tomorrow.intervals


def test_merging_different_currencies_is_refused() -> None:
    eur = parse_nordpool_prices(nordpool_core_response(DAY), currency="EUR")
    sek = parse_nordpool_prices(nordpool_core_response(DAY), currency="SEK")
    with pytest.raises(PriceSourceError) as caught:
        merge_series(eur, sek)
    assert caught.value.field == "currency"


def _local_quarters(count: int) -> list[datetime]:
    start = datetime(2025, 10, 20, tzinfo=STOCKHOLM)
    return [start + i * QUARTER for i in range(count)]
