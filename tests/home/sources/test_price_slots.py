"""Prices onto 15-minute slots: resolutions, straddling intervals, DST days, gaps and fallbacks."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from gridcoop_home.sources import (
    GapFill,
    PriceInterval,
    PriceSeries,
    PriceSourceError,
    merge_series,
    parse_entsoe,
    parse_nordpool_hacs,
    parse_nordpool_prices,
    parse_octopus_rates,
    prices_for_slots,
)
from gridcoop_home.sources.prices import build_series
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.home.sources.shapes import (
    AUTUMN_DAY,
    BERLIN,
    LONDON,
    QUARTER,
    SPRING_DAY,
    STOCKHOLM,
    day_bounds_utc,
    entsoe_items,
    local_midnight,
    nordpool_core_response,
    nordpool_hacs_attributes,
    nordpool_hacs_items,
    octopus_event,
)

DAY = date(2025, 10, 20)
T0 = datetime(2026, 1, 5, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _series(*intervals: tuple[int, int, float]) -> PriceSeries:
    """Intervals as (start minute, end minute, price) from T0."""
    return build_series(
        "EUR",
        [PriceInterval(T0 + a * MINUTE, T0 + b * MINUTE, price) for a, b, price in intervals],
        "test",
    )


def test_15_minute_prices_are_kept() -> None:
    series = parse_nordpool_prices(nordpool_core_response(DAY), currency="EUR")
    start, _ = day_bounds_utc(DAY, STOCKHOLM)
    result = prices_for_slots(series, start, 96, tz=STOCKHOLM)
    assert result.prices == tuple(i.price for i in series.intervals)
    assert all(result.from_source)
    assert result.warnings == ()


def test_an_hourly_price_applies_to_its_four_quarters() -> None:
    series = parse_entsoe({"prices_today": entsoe_items(DAY)})
    start, _ = day_bounds_utc(DAY, BERLIN)
    result = prices_for_slots(series, start, 96, tz=BERLIN)
    hourly = [i.price for i in series.intervals]
    assert list(result.prices) == [p for p in hourly for _ in range(4)]


def test_a_30_minute_price_applies_to_two_quarters() -> None:
    series = parse_octopus_rates(octopus_event(DAY))
    start, _ = day_bounds_utc(DAY, LONDON)
    result = prices_for_slots(series, start, 96, tz=LONDON)
    half_hourly = [i.price for i in series.intervals]
    assert list(result.prices) == [p for p in half_hourly for _ in range(2)]


def test_mixed_resolutions_hourly_today_quarters_tomorrow() -> None:
    today = parse_nordpool_prices(
        nordpool_core_response(DAY, step=timedelta(hours=1)), currency="EUR"
    )
    tomorrow = parse_nordpool_prices(
        nordpool_core_response(DAY + timedelta(days=1)), currency="EUR"
    )
    series = merge_series(today, tomorrow)
    assert series.resolutions == (QUARTER, timedelta(hours=1))
    assert series.resolution is None
    start, _ = day_bounds_utc(DAY, STOCKHOLM)
    result = prices_for_slots(series, start, 192, tz=STOCKHOLM)
    assert list(result.prices[:96]) == [i.price for i in today.intervals for _ in range(4)]
    assert list(result.prices[96:]) == [i.price for i in tomorrow.intervals]


def test_intervals_straddling_slot_boundaries_are_time_weighted() -> None:
    # 20-minute prices 10, 40, 70: slot [0,15) is all 10; [15,30) is 5 min of 10 + 10 of 40 ...
    series = _series((0, 20, 10.0), (20, 40, 40.0), (40, 60, 70.0))
    result = prices_for_slots(series, T0, 4)
    assert result.prices == pytest.approx(
        (10.0, (5 * 10 + 10 * 40) / 15, (10 * 40 + 5 * 70) / 15, 70.0)
    )
    assert all(result.from_source)


def test_a_start_off_the_quarter_grid_is_time_weighted_too() -> None:
    series = _series((0, 60, 10.0), (60, 120, 20.0))
    result = prices_for_slots(series, T0 + 50 * MINUTE, 2)
    assert result.prices == pytest.approx((10 * 10 / 15 + 5 * 20 / 15, 20.0))


@st.composite
def _random_series(draw: st.DrawFn) -> list[tuple[int, int, float]]:
    """Intervals of 1-90 minutes with random gaps, prices -50..500."""
    intervals = []
    cursor = draw(st.integers(0, 30))
    for _ in range(draw(st.integers(0, 25))):
        length = draw(st.integers(1, 90))
        price = draw(st.floats(-50, 500, allow_nan=False, allow_infinity=False))
        intervals.append((cursor, cursor + length, price))
        cursor += length + draw(st.sampled_from([0, 0, 0, 7, 15, 60]))
    return intervals


def _brute_force(intervals: list[tuple[int, int, float]], slot: int) -> tuple[float | None, bool]:
    """Mean price over the covered minutes of slot `slot`, found minute by minute."""
    found = []
    for minute in range(slot * 15, slot * 15 + 15):
        prices = [p for a, b, p in intervals if a <= minute < b]
        found += prices[:1]
    return (sum(found) / len(found) if found else None), len(found) == 15


@settings(max_examples=200, deadline=None)
@given(_random_series())
def test_slot_prices_match_a_minute_by_minute_brute_force(
    intervals: list[tuple[int, int, float]],
) -> None:
    series = _series(*intervals)
    slots = 16
    result = prices_for_slots(series, T0, slots, flat_price=-1.0, gap_fill=GapFill.FLAT)
    for slot in range(slots):
        expected, full = _brute_force(intervals, slot)
        assert result.from_source[slot] == full
        if expected is None:
            assert result.prices[slot] == -1.0  # filled by the flat price
        else:
            assert result.prices[slot] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("day", "quarters"), [(SPRING_DAY, 92), (AUTUMN_DAY, 100)])
def test_dst_days_from_a_local_time_source(day: date, quarters: int) -> None:
    def by_index(t: datetime) -> float:  # every quarter distinct, the repeated hour too
        begin, _ = day_bounds_utc(day, STOCKHOLM)
        return (t - begin) / QUARTER

    items = nordpool_hacs_items(day, value=by_index)
    assert len(items) == quarters
    series = parse_nordpool_hacs({"currency": "SEK", "raw_today": items})
    start, end = day_bounds_utc(day, STOCKHOLM)
    result = prices_for_slots(series, start, quarters, tz=STOCKHOLM)
    assert result.prices == pytest.approx(tuple(100.0 * i for i in range(quarters)))
    assert start + quarters * QUARTER == end
    assert all(result.from_source)


@pytest.mark.parametrize(("day", "hours"), [(SPRING_DAY, 23), (AUTUMN_DAY, 25)])
def test_dst_days_from_an_hourly_local_time_source(day: date, hours: int) -> None:
    items = entsoe_items(day, tz=BERLIN)
    assert len(items) == hours
    series = parse_entsoe({"prices_today": items})
    start, _ = day_bounds_utc(day, BERLIN)
    result = prices_for_slots(series, start, hours * 4, tz=BERLIN)
    assert list(result.prices) == [i.price for i in series.intervals for _ in range(4)]


def test_missing_tomorrow_repeats_the_same_local_time_of_today_with_a_warning() -> None:
    attributes = nordpool_hacs_attributes(DAY, with_tomorrow=False, tomorrow_valid=False)
    series = parse_nordpool_hacs(attributes)
    start = datetime(2025, 10, 20, 6, 0, tzinfo=STOCKHOLM)
    result = prices_for_slots(series, start, 192, tz=STOCKHOLM)  # to 2025-10-22 06:00
    today_left = 18 * 4
    assert result.from_source == (True,) * today_left + (False,) * (192 - today_left)
    by_local_time = {i.start.astimezone(STOCKHOLM).time(): i.price for i in series.intervals}
    for slot_start, price in zip(result.slot_starts, result.prices, strict=True):
        assert price == by_local_time[slot_start.astimezone(STOCKHOLM).time()]
    (warning,) = result.warnings
    assert "no price for 120 slots" in warning
    assert "2025-10-21 00:00 to 2025-10-22 06:00" in warning
    assert "13:00 CET" in warning
    assert "same local time on an earlier day" in warning


def test_missing_tomorrow_with_the_flat_grid_tariff() -> None:
    series = parse_nordpool_hacs(nordpool_hacs_attributes(DAY, with_tomorrow=False))
    start = datetime(2025, 10, 20, 12, 0, tzinfo=STOCKHOLM)
    result = prices_for_slots(
        series, start, 96, tz=STOCKHOLM, gap_fill=GapFill.FLAT, flat_price=25.0
    )
    assert result.prices[48:] == (25.0,) * 48
    assert result.prices[:48] == tuple(i.price for i in series.intervals[48:96])
    assert any("the flat price 25" in w for w in result.warnings)


def test_repeating_a_day_across_spring_forward_keeps_the_local_time() -> None:
    # Prices for Saturday 28 March only; Sunday (23 h) and Monday are repeated from it.
    saturday = SPRING_DAY - timedelta(days=1)
    series = parse_nordpool_hacs({"currency": "SEK", "raw_today": nordpool_hacs_items(saturday)})
    start = local_midnight(saturday, STOCKHOLM)
    result = prices_for_slots(series, start, 96 + 92 + 96, tz=STOCKHOLM)
    by_local_time = {i.start.astimezone(STOCKHOLM).time(): i.price for i in series.intervals}
    for slot_start, price in zip(result.slot_starts, result.prices, strict=True):
        assert price == by_local_time[slot_start.astimezone(STOCKHOLM).time()]
    evening = datetime(2026, 3, 29, 18, 0, tzinfo=STOCKHOLM)  # UTC 16:00, Saturday's was 17:00
    assert result.prices[result.slot_starts.index(evening)] == by_local_time[evening.time()]


@pytest.mark.parametrize(("day", "slots"), [(SPRING_DAY, 92 + 96), (AUTUMN_DAY, 100 + 96)])
def test_a_local_start_steps_in_real_quarters_through_the_dst_change(day: date, slots: int) -> None:
    series = parse_nordpool_hacs(nordpool_hacs_attributes(day))
    local_start = local_midnight(day, STOCKHOLM)
    local = prices_for_slots(series, local_start, slots, tz=STOCKHOLM)
    utc = prices_for_slots(series, local_start.astimezone(UTC), slots, tz=STOCKHOLM)
    assert local.prices == utc.prices
    starts = local.slot_starts
    assert all(b - a == QUARTER for a, b in itertools.pairwise(starts))
    assert all(local.from_source)  # today and tomorrow: every slot has its own price


def test_repeating_a_day_across_fall_back_fills_the_repeated_hour_twice() -> None:
    saturday = AUTUMN_DAY - timedelta(days=1)
    series = parse_nordpool_hacs({"currency": "SEK", "raw_today": nordpool_hacs_items(saturday)})
    start, _ = day_bounds_utc(AUTUMN_DAY, STOCKHOLM)
    result = prices_for_slots(series, start, 100, tz=STOCKHOLM)
    by_local_time = {i.start.astimezone(STOCKHOLM).time(): i.price for i in series.intervals}
    local_times = [t.astimezone(STOCKHOLM).time() for t in result.slot_starts]
    assert local_times.count(datetime(2025, 10, 26, 2, 15).time()) == 2
    assert list(result.prices) == [by_local_time[t] for t in local_times]


def test_a_gap_without_an_earlier_day_uses_the_flat_price_or_else_the_mean() -> None:
    series = _series((60, 120, 10.0), (120, 180, 30.0))  # prices start an hour after the plan
    with_flat = prices_for_slots(series, T0, 12, flat_price=25.0)
    assert with_flat.prices[:4] == (25.0,) * 4
    without = prices_for_slots(series, T0, 12)
    assert without.prices[:4] == (20.0,) * 4
    assert "mean price 20" in without.warnings[0]
    assert "13:00 CET" not in without.warnings[0]  # the gap is before the data, not tomorrow


def test_a_source_with_no_prices_at_all() -> None:
    empty = parse_nordpool_prices(nordpool_core_response(DAY, empty=True), currency="EUR")
    with pytest.raises(PriceSourceError) as caught:
        prices_for_slots(empty, T0, 8)
    assert caught.value.field == "prices"
    flat = prices_for_slots(empty, T0, 8, flat_price=30.0)
    assert flat.prices == (30.0,) * 8
    assert flat.from_source == (False,) * 8


def test_a_missing_hour_inside_the_day_is_filled_and_reported() -> None:
    attributes = nordpool_hacs_attributes(DAY, step=timedelta(hours=1))
    del attributes["raw_today"][10]  # 10:00-11:00 local today missing
    series = parse_nordpool_hacs(attributes)
    start = datetime(2025, 10, 20, 9, 0, tzinfo=STOCKHOLM)
    result = prices_for_slots(series, start, 12, tz=STOCKHOLM)
    assert result.from_source == (True,) * 4 + (False,) * 4 + (True,) * 4
    # No earlier day in the series: the mean of the source
    mean = sum(i.price for i in series.intervals) / len(series.intervals)
    assert result.prices[4:8] == pytest.approx((mean,) * 4)
    assert "2025-10-20 10:00 to 2025-10-20 11:00" in result.warnings[0]


def test_partly_covered_slots_are_reported() -> None:
    series = _series((0, 20, 10.0))
    result = prices_for_slots(series, T0, 2, flat_price=0.0)
    assert result.prices == (10.0, 10.0)
    assert result.from_source == (True, False)
    assert "1 slots only partly covered" in result.warnings[0]


def test_overlaps_later_listed_prices_win_with_a_warning() -> None:
    series = _series((0, 60, 10.0), (30, 45, 99.0))
    assert [(i.price, i.length) for i in series.intervals] == [
        (10.0, 30 * MINUTE),
        (99.0, 15 * MINUTE),
        (10.0, 15 * MINUTE),
    ]
    assert "1 overlapping intervals with different prices" in series.warnings[0]
    result = prices_for_slots(series, T0, 4)
    assert result.prices == (10.0, 10.0, 99.0, 10.0)
    assert result.warnings == series.warnings


def test_identical_repeats_merge_silently() -> None:
    series = _series((0, 60, 10.0), (0, 60, 10.0), (0, 15, 10.0))
    assert series.start == T0 and series.end == T0 + 60 * MINUTE
    assert sum((i.length for i in series.intervals), timedelta()) == 60 * MINUTE
    assert {i.price for i in series.intervals} == {10.0}
    assert series.warnings == ()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": datetime(2026, 1, 5)}, "start"),
        ({"slots": 0}, "slots"),
        ({"repeat_days": 0}, "repeat_days"),
        ({"flat_price": float("inf")}, "flat_price"),
        ({"gap_fill": GapFill.FLAT}, "flat_price"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"start": T0, "slots": 4, **kwargs}
    with pytest.raises(PriceSourceError) as caught:
        prices_for_slots(_series((0, 60, 1.0)), **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
