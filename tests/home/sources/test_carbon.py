"""A carbon-intensity horizon from a sensor's history: the same local hour over recent days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from gridcoop_home.sources import CarbonSourceError, carbon_for_slots

from tests.home.sources.shapes import BERLIN

START = datetime(2026, 1, 12, 0, 0, tzinfo=BERLIN)
QUARTER = timedelta(minutes=15)


def _every_quarter(
    days: float, value: object, end: datetime = START
) -> list[tuple[datetime, object]]:
    """A sample every 15 minutes (Electricity Maps polls that often) for `days` before `end`."""
    count = int(days * 96)
    first = end.astimezone(UTC) - count * QUARTER
    times = [first + i * QUARTER for i in range(count)]
    return [(t, value(t) if callable(value) else value) for t in times]


def _by_local_hour(t: datetime) -> float:
    return 100.0 + 10 * t.astimezone(BERLIN).hour


def test_each_slot_gets_the_mean_of_its_local_hour_and_the_first_the_current_value() -> None:
    history = _every_quarter(7, _by_local_hour)
    result = carbon_for_slots(history, START, 96, current=555.0, tz=BERLIN)
    assert result.g_per_kwh[0] == 555.0
    hours = [(START.astimezone(UTC) + i * QUARTER).astimezone(BERLIN).hour for i in range(96)]
    assert result.g_per_kwh[1:] == pytest.approx(tuple(100.0 + 10 * h for h in hours[1:]))
    assert result.warnings == ()


def test_values_are_weighted_by_how_long_they_held() -> None:
    # The recorder stores changes only: 200 from 00:00, 400 from 00:45 (local), every day.
    history: list[tuple[datetime, object]] = []
    for day in range(1, 8):
        midnight = START - timedelta(days=day)
        history += [
            (midnight, 200),
            (midnight + timedelta(minutes=45), 400),
            (midnight + timedelta(hours=1), "unavailable"),
        ]
    result = carbon_for_slots(history, START, 4, current=0, tz=BERLIN)
    assert result.g_per_kwh[1:] == pytest.approx((250.0,) * 3)  # (45 * 200 + 15 * 400) / 60


def test_unavailable_ends_a_value_and_unseen_hours_use_the_overall_mean() -> None:
    history = [
        (START - timedelta(hours=23), "300"),  # HA states are strings; local 01:00 yesterday
        (START - timedelta(hours=22, minutes=30), "unavailable"),
        (START - timedelta(hours=22), 100.0),
        (START - timedelta(hours=21, minutes=30), None),
    ]
    result = carbon_for_slots(history, START + timedelta(hours=1), 12, tz=BERLIN)
    # Seen: local 01:00-01:30 at 300 and 02:00-02:30 at 100; 03:00-04:00 never.
    assert result.g_per_kwh == (300.0,) * 4 + (100.0,) * 4 + (200.0,) * 4
    assert any("no values for some hours" in w for w in result.warnings)
    assert any("covers 0.0 of 7 days" in w for w in result.warnings)


def test_a_value_holds_at_most_three_hours() -> None:
    history = [
        (START - timedelta(hours=30), 100.0),  # local 18:00 the day before yesterday
        (START - timedelta(hours=10), 400.0),  # local 14:00 yesterday, then nothing
    ]
    result = carbon_for_slots(history, START, 96, tz=BERLIN)
    assert result.g_per_kwh[14 * 4 : 17 * 4] == (400.0,) * 12
    assert result.g_per_kwh[18 * 4 : 21 * 4] == (100.0,) * 12
    # 17:00 is unseen (400 stopped holding at 17:00): the overall mean of 3 h each.
    assert result.g_per_kwh[17 * 4 : 18 * 4] == (250.0,) * 4
    assert result.g_per_kwh[0] == 250.0  # no current value: the latest is 10 hours old


def test_current_value_defaults_to_the_latest_sample_when_it_still_holds() -> None:
    history = [*_every_quarter(7, 300.0), (START - timedelta(minutes=5), 480.0)]
    assert carbon_for_slots(history, START, 2, tz=BERLIN).g_per_kwh == (480.0, 300.0)


def test_thin_history_is_reported() -> None:
    result = carbon_for_slots(_every_quarter(1, _by_local_hour), START, 8, current=200, tz=BERLIN)
    assert "covers 1.0 of 7 days" in result.warnings[0]
    assert result.g_per_kwh[1:] == pytest.approx((100.0,) * 3 + (110.0,) * 4)


def test_no_history_uses_the_current_value_and_nothing_at_all_is_an_error() -> None:
    result = carbon_for_slots([], START, 4, current="321")
    assert result.g_per_kwh == (321.0,) * 4
    assert "no carbon-intensity history" in result.warnings[0]
    with pytest.raises(CarbonSourceError) as caught:
        carbon_for_slots([(START - timedelta(days=30), 100.0)], START, 4)
    assert caught.value.field == "history"


def test_the_profile_follows_local_hours_across_the_autumn_dst_change() -> None:
    monday = datetime(2025, 10, 27, 0, 0, tzinfo=BERLIN)  # the week includes Sunday's 25 hours
    history = _every_quarter(7, _by_local_hour, end=monday)
    result = carbon_for_slots(history, monday, 96, current=100.0, tz=BERLIN)
    hours = [(monday.astimezone(UTC) + i * QUARTER).astimezone(BERLIN).hour for i in range(96)]
    assert result.g_per_kwh == pytest.approx(tuple(100.0 + 10 * h for h in hours))


@pytest.mark.parametrize(
    ("history", "current", "field"),
    [
        ([(START, "lots")], None, "history[0].value"),
        ([(START, 1.0), ("yesterday", 1.0)], None, "history[1].time"),
        ([(START - timedelta(hours=1), -4.0)], None, "history[0].value"),
        ([(START, 1.0), (START, 2.0), (START,)], None, "history[2]"),
        ([(START.replace(tzinfo=None), 1.0)], None, "history[0].time"),
        ([], "abc", "current"),
        ([], -1, "current"),
    ],
)
def test_garbage_names_the_field(
    history: list[tuple[object, ...]], current: object, field: str
) -> None:
    with pytest.raises(CarbonSourceError) as caught:
        carbon_for_slots(history, START, 4, current=current)  # type: ignore[arg-type]
    assert caught.value.field == field
