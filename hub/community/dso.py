"""DSO quarter-hour values: parse our CSV format and one real-world layout, keep them on disk.

Values are keyed by (metering point, direction, quarter-hour start in UTC seconds), in Wh.
Formats (docs/community.md#dso-data):

- `gridcoop` (ours): a header `metering_point,direction,start,wh`, then one value per line;
  `start` is ISO 8601 with an offset (`Z` or `+01:00`) on a quarter-hour, `wh` a non-negative
  integer.
- `at-portal`: the 15-minute CSV an Austrian DSO's smart-meter portal exports for one metering
  point (semicolon-separated, `Messzeitpunkt;Verbrauch (kWh);...`, local time marking the END
  of the quarter-hour, kWh with a decimal comma). Only the first two columns are read.

Every error names the file and line. Nothing is ever overwritten: `merge` keeps stored values
and reports each differing new one as a conflict.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.community.model import QH_SECONDS, CommunityError, Direction, iso_utc

Key = tuple[str, Direction, int]  # (metering point, direction, quarter-hour start)
DsoValues = dict[Key, int]
HEADER = ["metering_point", "direction", "start", "wh"]
FORMATS = ("gridcoop", "at-portal")


class DsoFormatError(CommunityError):
    pass


@dataclass(frozen=True, slots=True)
class Conflict:
    key: Key
    stored_wh: int
    new_wh: int

    def __str__(self) -> str:
        point, direction, start = self.key
        return (
            f"{point} {direction} {iso_utc(start)}: stored {self.stored_wh} Wh, "
            f"new file says {self.new_wh} Wh (kept the stored value)"
        )


def parse_gridcoop(text: str, source: str = "<csv>") -> DsoValues:
    values: DsoValues = {}
    lines: dict[Key, int] = {}
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None or [h.strip() for h in header] != HEADER:
        raise DsoFormatError(f"{source}:1: the header must be {','.join(HEADER)}")
    for row in rows:
        line = rows.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(HEADER):
            raise DsoFormatError(f"{source}:{line}: expected 4 fields, found {len(row)}")
        point, direction, start, wh = (cell.strip() for cell in row)
        key = (
            _point(point, source, line),
            _direction(direction, source, line),
            _start(start, source, line),
        )
        _add(values, lines, key, _wh(wh, source, line), source, line)
    return values


def parse_at_portal(
    text: str,
    metering_point: str,
    direction: Direction | None,
    source: str = "<csv>",
    timezone: str = "Europe/Vienna",
) -> DsoValues:
    rows = csv.reader(io.StringIO(text), delimiter=";")
    header = next(rows, None)
    if header is None or len(header) < 2 or header[0].strip() != "Messzeitpunkt":
        raise DsoFormatError(f"{source}:1: expected a header starting 'Messzeitpunkt;'")
    direction = direction or _direction_from_header(header[1], source)
    zone = ZoneInfo(timezone)
    values: DsoValues = {}
    lines: dict[Key, int] = {}
    previous = -1
    for row in rows:
        line = rows.line_num
        if not row or not row[0].strip():
            continue
        if len(row) < 2:
            raise DsoFormatError(f"{source}:{line}: expected at least 2 fields")
        end = _end_of_quarter_hour(_local_time(row[0].strip(), source, line), zone, previous)
        previous = end
        if end % QH_SECONDS:
            raise DsoFormatError(f"{source}:{line}: {row[0].strip()} is not on a quarter-hour")
        if not row[1].strip():
            continue  # no value delivered for this quarter-hour
        key = (metering_point, direction, end - QH_SECONDS)
        _add(values, lines, key, _kwh(row[1].strip(), source, line), source, line)
    return values


def check_points(
    values: Iterable[Key], known: Mapping[str, set[Direction]], source: str = "<csv>"
) -> None:
    """Every value belongs to a configured metering point and direction."""
    for point, direction, start in values:
        if point not in known:
            raise DsoFormatError(
                f"{source}: unknown metering point {point} ({iso_utc(start)}): not a member's or "
                "plant's metering_point / injection_point in the community configuration"
            )
        if direction not in known[point]:
            raise DsoFormatError(f"{source}: metering point {point} has no {direction} data")


def merge(stored: DsoValues, new: DsoValues) -> tuple[DsoValues, list[Conflict]]:
    """New values added; a differing value for a stored key is a conflict and is not taken."""
    merged = dict(stored)
    conflicts: list[Conflict] = []
    for key, wh in sorted(new.items()):
        if key not in stored:
            merged[key] = wh
        elif stored[key] != wh:
            conflicts.append(Conflict(key, stored[key], wh))
    return merged, conflicts


def dump(values: DsoValues) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for (point, direction, start), wh in sorted(values.items()):
        writer.writerow([point, direction.value, iso_utc(start), wh])
    return out.getvalue()


def load_store(path: Path) -> DsoValues:
    return parse_gridcoop(path.read_text(encoding="utf-8"), str(path)) if path.exists() else {}


def save_store(path: Path, values: DsoValues) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dump(values), encoding="utf-8")
    os.replace(tmp, path)


def _add(
    values: DsoValues, lines: dict[Key, int], key: Key, wh: int, source: str, line: int
) -> None:
    if key in values:
        raise DsoFormatError(
            f"{source}:{line}: {key[0]} {key[1]} {iso_utc(key[2])} already given on line "
            f"{lines[key]}"
        )
    values[key] = wh
    lines[key] = line


def _point(text: str, source: str, line: int) -> str:
    if not text or any(c.isspace() for c in text):
        raise DsoFormatError(f"{source}:{line}: metering_point must be a non-empty id")
    return text


def _direction(text: str, source: str, line: int) -> Direction:
    try:
        return Direction(text)
    except ValueError:
        raise DsoFormatError(
            f"{source}:{line}: direction must be consumption or injection, not {text!r}"
        ) from None


def _direction_from_header(column: str, source: str) -> Direction:
    name = column.strip().lower()
    if name.startswith("verbrauch"):
        return Direction.CONSUMPTION
    if name.startswith("einspeisung"):
        return Direction.INJECTION
    raise DsoFormatError(
        f"{source}:1: cannot tell the direction from column {column.strip()!r}: give --direction"
    )


def _start(text: str, source: str, line: int) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DsoFormatError(f"{source}:{line}: start {text!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise DsoFormatError(f"{source}:{line}: start {text!r} needs an offset (Z or +01:00)")
    ts = moment.astimezone(UTC).timestamp()
    if ts % QH_SECONDS:
        raise DsoFormatError(f"{source}:{line}: start {text!r} is not on a quarter-hour")
    return int(ts)


def _wh(text: str, source: str, line: int) -> int:
    if not text.isdigit():
        raise DsoFormatError(f"{source}:{line}: wh must be a non-negative integer, not {text!r}")
    return int(text)


def _kwh(text: str, source: str, line: int) -> int:
    try:
        kwh = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise DsoFormatError(f"{source}:{line}: {text!r} is not a number of kWh") from None
    if not kwh.is_finite() or kwh < 0:
        raise DsoFormatError(f"{source}:{line}: {text!r} must be a non-negative number of kWh")
    return int((kwh * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _local_time(text: str, source: str, line: int) -> datetime:
    try:
        return datetime.strptime(text, "%d.%m.%Y %H:%M")
    except ValueError:
        raise DsoFormatError(
            f"{source}:{line}: Messzeitpunkt {text!r} is not DD.MM.YYYY HH:MM"
        ) from None


def _end_of_quarter_hour(local: datetime, zone: ZoneInfo, previous: int) -> int:
    """UTC seconds of a local wall time. In the autumn hour that repeats, the wall time is
    read as the first of its two instants that comes after the previous line's."""
    first, second = (int(local.replace(tzinfo=zone, fold=f).timestamp()) for f in (0, 1))
    return first if first > previous or second <= previous else second
