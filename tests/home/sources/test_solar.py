"""Energy-platform solar forecasts become mean W per 15-minute slot, with coverage."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from gridcoop_home.sources import (
    PeriodKey,
    SolarForecastError,
    parse_solar_forecast,
    period_key_for,
    solar_for_slots,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.home.sources.shapes import BERLIN

T0 = datetime(2026, 6, 1, 6, 0, tzinfo=BERLIN)
MINUTE = timedelta(minutes=1)


def _keys(offsets_min: dict[int, float]) -> dict[str, dict[str, float]]:
    """{"wh_hours": {local ISO key: Wh}} with keys at minutes after T0 (as energy.py emits)."""
    return {"wh_hours": {(T0 + m * MINUTE).isoformat(): wh for m, wh in offsets_min.items()}}


def test_hourly_values_spread_over_their_four_quarters() -> None:
    # Open-Meteo Solar Forecast: hourly, keyed by the hour's start.
    forecast = parse_solar_forecast(_keys({120: 400, 180: 800}), name="open_meteo")
    result = solar_for_slots([forecast], T0 + 120 * MINUTE, 8)
    assert result.pv_w == pytest.approx((400.0,) * 4 + (800.0,) * 4)
    assert result.covered == (True,) * 8
    assert result.warnings == ()


def test_solcast_half_hours_spread_over_two_quarters() -> None:
    forecast = parse_solar_forecast(
        {"wh_hours": {"2026-06-01T08:00:00+00:00": 250, "2026-06-01T08:30:00+00:00": 500}}
    )
    result = solar_for_slots([forecast], datetime(2026, 6, 1, 8, tzinfo=UTC), 4)
    assert result.pv_w == pytest.approx((500.0, 500.0, 1000.0, 1000.0))


def test_forecast_solar_values_belong_to_the_period_ending_at_their_key() -> None:
    # watt_hours_period: sunrise point (always 0), then energy since the previous point.
    data = _keys({30: 0, 60: 60, 120: 400})  # 06:30 sunrise, 07:00 -> 60 Wh, 08:00 -> 400 Wh
    ending = parse_solar_forecast(data, period_key=PeriodKey.END)
    result = solar_for_slots([ending], T0 + 30 * MINUTE, 6)
    assert result.pv_w == pytest.approx((120.0, 120.0, 400.0, 400.0, 400.0, 400.0))
    # Read as period starts (the Energy dashboard's reading) it lands an hour late.
    starting = parse_solar_forecast(data, period_key=PeriodKey.START)
    late = solar_for_slots([starting], T0 + 30 * MINUTE, 6, tz=BERLIN)
    assert late.pv_w[:2] == pytest.approx((0.0, 0.0))
    assert period_key_for("forecast_solar") is PeriodKey.END
    assert period_key_for("solcast_solar") is PeriodKey.START
    assert period_key_for("some_new_provider") is PeriodKey.START


def test_irregular_sunset_point_covers_the_minutes_since_the_last_hour() -> None:
    data = _keys({0: 600, 60: 400, 60 + 47: 47})  # sunset at 07:47 with 47 Wh since 07:00
    forecast = parse_solar_forecast(data, period_key=PeriodKey.END)
    result = solar_for_slots([forecast], T0 + 60 * MINUTE, 4)
    # 47 Wh over 47 minutes = 60 W; the last quarter has 2 of its 15 minutes before sunset.
    assert result.pv_w == pytest.approx((60.0, 60.0, 60.0, 60.0 * 2 / 15))


def test_two_arrays_are_summed_and_coverage_is_their_common_span() -> None:
    east = parse_solar_forecast(_keys({0: 100, 60: 200, 120: 300}), name="east")
    west = parse_solar_forecast(_keys({60: 1000, 120: 2000, 180: 3000}), name="west")
    result = solar_for_slots([east, west], T0, 16)
    assert result.pv_w[4:8] == pytest.approx((1200.0,) * 4)
    assert result.covered == (False,) * 4 + (True,) * 8 + (False,) * 4
    assert result.covered_slots == 8
    assert "covers 8 of 16 slots" in result.warnings[0]


def test_the_night_inside_a_forecast_is_zero_and_covered() -> None:
    # Forecast.Solar leaves the night out: the last point of one day, then the next sunrise.
    data = _keys({0: 0, 60: 500, 15 * 60: 0, 16 * 60: 500})
    forecast = parse_solar_forecast(data, period_key=PeriodKey.END)
    result = solar_for_slots([forecast], T0, 4 * 16)
    assert all(result.covered)
    assert result.pv_w == pytest.approx((500.0,) * 4 + (0.0,) * (4 * 14) + (500.0,) * 4)


def test_uncovered_slots_take_the_fallback() -> None:
    forecast = parse_solar_forecast(_keys({0: 400}))
    result = solar_for_slots([forecast], T0, 8)
    clear_sky = [float(i) for i in range(8)]
    assert result.filled(clear_sky) == (400.0,) * 4 + (4.0, 5.0, 6.0, 7.0)
    with pytest.raises(SolarForecastError) as caught:
        result.filled([0.0])
    assert caught.value.field == "fallback_w"


def test_no_forecast_or_an_empty_one_covers_nothing() -> None:
    empty = parse_solar_forecast({"wh_hours": {}}, name="forecast_solar 01J")
    result = solar_for_slots([empty], T0, 4)
    assert result.covered == (False,) * 4
    assert result.warnings[0] == "forecast_solar 01J: the forecast is empty"
    assert solar_for_slots([], T0, 4).covered_slots == 0


def test_hourly_keys_across_the_spring_dst_change_stay_one_hour_long() -> None:
    data = {"wh_hours": {"2026-03-29T01:00:00+01:00": 100, "2026-03-29T03:00:00+02:00": 200}}
    forecast = parse_solar_forecast(data)
    assert [p.end - p.start for p in forecast.periods] == [timedelta(hours=1)] * 2
    result = solar_for_slots([forecast], datetime(2026, 3, 29, 1, tzinfo=BERLIN), 8, tz=BERLIN)
    assert result.pv_w == pytest.approx((100.0,) * 4 + (200.0,) * 4)


@st.composite
def _keyed_energy(draw: st.DrawFn) -> dict[int, float]:
    """Keys 1-60 minutes apart (sometimes a gap of hours), Wh 0..3000."""
    keys: dict[int, float] = {}
    cursor = draw(st.integers(0, 40))
    for _ in range(draw(st.integers(1, 20))):
        keys[cursor] = draw(st.floats(0, 3000, allow_nan=False))
        cursor += draw(st.sampled_from([15, 30, 60, 60, 60, 37, 180]))
    return keys


@settings(max_examples=150, deadline=None)
@given(_keyed_energy(), st.sampled_from(list(PeriodKey)))
def test_slot_energy_matches_a_minute_by_minute_brute_force(
    keys: dict[int, float], period_key: PeriodKey
) -> None:
    forecast = parse_solar_forecast(_keys(keys), period_key=period_key)
    slots = 64
    start = T0 - 60 * MINUTE
    result = solar_for_slots([forecast], start, slots)
    minutes = _brute_force_minutes(keys, period_key)
    for slot in range(slots):
        first = slot * 15 - 60  # minutes after T0
        expected_wh = sum(minutes.get(m, 0.0) for m in range(first, first + 15))
        assert result.pv_w[slot] * 0.25 == pytest.approx(expected_wh, abs=1e-6)


def _brute_force_minutes(keys: dict[int, float], period_key: PeriodKey) -> dict[int, float]:
    """Energy per minute: each key's Wh spread over its period, found independently."""
    ordered = sorted(keys)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    short = [g for g in gaps if g <= 60]
    step = min(short, key=lambda g: (-short.count(g), g)) if short else 60
    minutes: dict[int, float] = {}
    for i, key in enumerate(ordered):
        if period_key is PeriodKey.START:
            nxt = ordered[i + 1] if i + 1 < len(ordered) else None
            span = range(key, nxt if nxt is not None and nxt - key <= 60 else key + step)
        else:
            prev = ordered[i - 1] if i > 0 else None
            span = range(prev if prev is not None and key - prev <= 60 else key - step, key)
        for minute in span:
            minutes[minute] = minutes.get(minute, 0.0) + keys[key] / len(span)
    return minutes


@pytest.mark.parametrize(
    ("forecast", "field"),
    [
        ({}, "solar.wh_hours"),
        ({"wh_hours": []}, "wh_hours"),
        ({"wh_hours": {"noon": 10}}, "wh_hours['noon']"),
        ({"wh_hours": {"2026-06-01T12:00:00": 10}}, "wh_hours['2026-06-01T12:00:00']"),
        ({"wh_hours": {"2026-06-01T12:00:00+02:00": -5}}, "wh_hours['2026-06-01T12:00:00+02:00']"),
        (
            {"wh_hours": {"2026-06-01T12:00:00+02:00": "lots"}},
            "wh_hours['2026-06-01T12:00:00+02:00']",
        ),
    ],
)
def test_garbage_names_the_field(forecast: dict[str, object], field: str) -> None:
    with pytest.raises(SolarForecastError) as caught:
        parse_solar_forecast(forecast)
    assert caught.value.field == field


def test_bad_plan_arguments() -> None:
    forecast = parse_solar_forecast(_keys({0: 1}))
    with pytest.raises(SolarForecastError) as caught:
        solar_for_slots([forecast], datetime(2026, 6, 1), 4)
    assert caught.value.field == "start"
