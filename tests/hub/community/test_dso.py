"""DSO files in: our CSV format and the Austrian portal layout; errors name the line; a new
file never overwrites a stored value."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from hub.community.dso import (
    DsoFormatError,
    check_points,
    dump,
    merge,
    parse_at_portal,
    parse_gridcoop,
)
from hub.community.model import Direction

C, INJ = Direction.CONSUMPTION, Direction.INJECTION


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp())


GOOD = """metering_point,direction,start,wh
AT-a,consumption,2028-02-29T00:00:00Z,412
AT-a,injection,2028-02-29T01:00:00+01:00,0
AT-pv,injection,2028-02-29T00:15:00Z,1500
"""


def test_our_format_reads_points_directions_starts_and_wh() -> None:
    assert parse_gridcoop(GOOD, "day.csv") == {
        ("AT-a", C, ts("2028-02-29T00:00:00Z")): 412,
        ("AT-a", INJ, ts("2028-02-29T00:00:00Z")): 0,
        ("AT-pv", INJ, ts("2028-02-29T00:15:00Z")): 1500,
    }
    assert parse_gridcoop(dump(parse_gridcoop(GOOD))) == parse_gridcoop(GOOD)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("AT-a,consumption,2028-02-29T00:00:00Z", "day.csv:3: expected 4 fields, found 3"),
        ("AT-a,import,2028-02-29T00:00:00Z,1", "day.csv:3: direction must be consumption or"),
        ("AT-a,consumption,2028-02-29T00:00:00,1", "day.csv:3: start .* needs an offset"),
        ("AT-a,consumption,2028-02-29T00:05:00Z,1", "day.csv:3: .* not on a quarter-hour"),
        ("AT-a,consumption,yesterday,1", "day.csv:3: start 'yesterday' is not ISO 8601"),
        ("AT-a,consumption,2028-02-29T00:15:00Z,-1", "day.csv:3: wh must be a non-negative"),
        ("AT-a,consumption,2028-02-29T00:15:00Z,1.5", "day.csv:3: wh must be a non-negative"),
        ("AT-a,consumption,2028-02-29T00:00:00Z,7", "day.csv:3: .* already given on line 2"),
    ],
)
def test_a_malformed_line_is_named(line: str, message: str) -> None:
    text = f"metering_point,direction,start,wh\nAT-a,consumption,2028-02-29T00:00:00Z,1\n{line}\n"
    with pytest.raises(DsoFormatError, match=message):
        parse_gridcoop(text, "day.csv")


def test_a_wrong_header_is_named() -> None:
    with pytest.raises(DsoFormatError, match=r"day.csv:1: the header must be"):
        parse_gridcoop("point;start;kwh\n", "day.csv")


def test_values_for_an_unknown_metering_point_are_refused() -> None:
    values = parse_gridcoop(GOOD)
    with pytest.raises(DsoFormatError, match="unknown metering point AT-pv"):
        check_points(values, {"AT-a": {C, INJ}}, "day.csv")
    with pytest.raises(DsoFormatError, match="AT-a has no injection data"):
        check_points(values, {"AT-a": {C}, "AT-pv": {INJ}}, "day.csv")


PORTAL = """Messzeitpunkt;Verbrauch (kWh);Qualität;Restnetzbezug (kWh);Qualität EG;
01.01.2025 00:15;0,063000;L1;;;
01.01.2025 00:30;0,083000;L1;;;
01.01.2025 00:45;;;;;
01.01.2025 01:00;0,0785;L1;;;
"""


def test_the_austrian_portal_layout_marks_the_end_of_each_quarter_hour_in_local_time() -> None:
    values = parse_at_portal(PORTAL, "AT-a", None, "portal.csv")
    assert values == {
        ("AT-a", C, ts("2024-12-31T23:00:00Z")): 63,
        ("AT-a", C, ts("2024-12-31T23:15:00Z")): 83,
        # 00:45 has no value: missing, not zero
        ("AT-a", C, ts("2024-12-31T23:45:00Z")): 79,  # 78.5 Wh rounds half up
    }


def test_the_portal_layouts_repeated_autumn_hour_is_read_in_order() -> None:
    times = ["01:45", "02:00", "02:15", "02:30", "02:45", "02:00", "02:15", "02:30", "02:45"]
    times += ["03:00"]
    rows = "".join(f"29.10.2028 {t};0,1;L1\n" for t in times)
    values = parse_at_portal("Messzeitpunkt;Einspeisung (kWh);Qualität\n" + rows, "AT-pv", None)
    starts = sorted(start for _, _, start in values)
    assert len(starts) == 10
    assert {b - a for a, b in itertools.pairwise(starts)} == {900}
    assert {direction for _, direction, _ in values} == {INJ}


def test_the_portal_layout_names_bad_lines_and_unknown_columns() -> None:
    with pytest.raises(DsoFormatError, match=r"portal.csv:3: Messzeitpunkt '2025-01-01 00:30'"):
        parse_at_portal(
            "Messzeitpunkt;Verbrauch (kWh)\n01.01.2025 00:15;0,1\n2025-01-01 00:30;0,1\n",
            "AT-a",
            None,
            "portal.csv",
        )
    with pytest.raises(DsoFormatError, match=r"portal.csv:2: 'viel' is not a number of kWh"):
        parse_at_portal(
            "Messzeitpunkt;Verbrauch (kWh)\n01.01.2025 00:15;viel\n", "AT-a", None, "portal.csv"
        )
    with pytest.raises(DsoFormatError, match="give --direction"):
        parse_at_portal("Messzeitpunkt;Wert (kWh)\n", "AT-a", None, "portal.csv")


def test_merging_keeps_stored_values_and_reports_conflicts() -> None:
    start = ts("2028-02-29T00:00:00Z")
    stored = {("AT-a", C, start): 100}
    new = {("AT-a", C, start): 120, ("AT-a", C, start + 900): 90}
    merged, conflicts = merge(stored, new)
    assert merged == {("AT-a", C, start): 100, ("AT-a", C, start + 900): 90}
    assert [str(c) for c in conflicts] == [
        "AT-a consumption 2028-02-29T00:00:00Z: stored 100 Wh, new file says 120 Wh "
        "(kept the stored value)"
    ]
    assert merge(stored, stored) == (stored, [])
