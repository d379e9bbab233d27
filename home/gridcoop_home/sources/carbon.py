"""A carbon-intensity horizon from a sensor that has no forecast (Electricity Maps / CO2 Signal).

The sensor (`gCO2eq/kWh`, polled every 15 minutes) only says what the grid emits now. Over a
day's horizon the best cheap guess is the same hour of the day in the recent past: each slot gets
the time-weighted mean of the sensor over that local hour on the last `days` days, and the first
slot gets the current value. Each recorded value holds until the next one (the recorder stores
changes only), at most `MAX_HOLD`; "unavailable" and "unknown" end the value before them.
Hours the history never saw get the mean of the whole history, with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from gridcoop_home.sources.errors import CarbonSourceError
from gridcoop_home.sources.parsing import as_number, as_utc, slot_starts

E = CarbonSourceError
MAX_HOLD = timedelta(hours=3)
NOT_A_VALUE = {"unavailable", "unknown", ""}
# Less history than this share of the asked days is reported as thin.
THIN_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class CarbonSlots:
    start: datetime
    g_per_kwh: tuple[float, ...]
    warnings: tuple[str, ...]


def carbon_for_slots(
    history: Sequence[tuple[datetime | str, object]],
    start: datetime,
    slots: int,
    *,
    current: float | str | None = None,
    tz: tzinfo = UTC,
    days: int = 7,
) -> CarbonSlots:
    """`slots` values from `start` (aware): `current` (or the latest recorded value, if it still
    holds at `start`) for the first slot, the same-hour profile of the last `days` days after."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise E("start", "must be timezone-aware")
    if slots < 1:
        raise E("slots", "must be at least 1")
    if days < 1:
        raise E("days", "must be at least 1")
    samples = _samples(history)
    since = start.astimezone(UTC) - timedelta(days=days)
    segments = _segments(samples, since, start)
    now = _current(current, samples, start)
    seconds = sum((b - a).total_seconds() for a, b, _ in segments)
    warnings = []
    if not segments:
        if now is None:
            raise E("history", "no carbon-intensity values in the history and no current value")
        warnings.append(f"no carbon-intensity history: the current {now:g} g/kWh for every slot")
        return CarbonSlots(start, tuple(now for _ in range(slots)), tuple(warnings))
    if seconds < THIN_SHARE * days * 86400:
        warnings.append(
            f"carbon-intensity history covers {seconds / 86400:.1f} of {days} days: "
            "the same-hour profile is thin"
        )
    profile = _hourly_profile(segments, tz)
    overall = sum(v * (b - a).total_seconds() for a, b, v in segments) / seconds
    missing = 0
    values = []
    for i, slot_start in enumerate(slot_starts(start, slots)):
        hour = slot_start.astimezone(tz).hour
        if i == 0 and now is not None:
            values.append(now)
        elif hour in profile:
            values.append(profile[hour])
        else:
            missing += 1
            values.append(overall)
    if missing:
        warnings.append(
            f"carbon-intensity history has no values for some hours of the day: "
            f"{missing} slots use the mean {overall:.0f} g/kWh"
        )
    return CarbonSlots(start, tuple(values), tuple(warnings))


def _samples(
    history: Sequence[tuple[datetime | str, object]],
) -> list[tuple[datetime, float | None]]:
    """Sorted (time, value) pairs; None marks the sensor unavailable from then on."""
    samples: list[tuple[datetime, float | None]] = []
    for index, entry in enumerate(history):
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise E(f"history[{index}]", "expected a (time, value) pair")
        when = as_utc(entry[0], f"history[{index}].time", E)
        raw = entry[1]
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in NOT_A_VALUE):
            samples.append((when, None))
            continue
        value = as_number(raw, f"history[{index}].value", E)
        if value < 0:
            raise E(f"history[{index}].value", f"negative carbon intensity {value!r}")
        samples.append((when, value))
    samples.sort(key=lambda s: s[0])
    return samples


def _segments(
    samples: list[tuple[datetime, float | None]], since: datetime, until: datetime
) -> list[tuple[datetime, datetime, float]]:
    """(from, to, value) for the time each value held within [since, until)."""
    segments = []
    next_times = [when for when, _ in samples[1:]] + [until] if samples else []
    for (when, value), after in zip(samples, next_times, strict=True):
        if value is None:
            continue
        end = min(after, when + MAX_HOLD, until)
        begin = max(when, since)
        if end > begin:
            segments.append((begin, end, value))
    return segments


def _hourly_profile(
    segments: list[tuple[datetime, datetime, float]], tz: tzinfo
) -> dict[int, float]:
    """Time-weighted mean per local hour of the day."""
    weighted: dict[int, float] = {}
    seconds: dict[int, float] = {}
    for begin, end, value in segments:
        cursor = begin
        while cursor < end:
            local = cursor.astimezone(tz)
            into_hour = timedelta(
                minutes=local.minute, seconds=local.second, microseconds=local.microsecond
            )
            piece_end = min(end, cursor + timedelta(hours=1) - into_hour)
            length = (piece_end - cursor).total_seconds()
            weighted[local.hour] = weighted.get(local.hour, 0.0) + value * length
            seconds[local.hour] = seconds.get(local.hour, 0.0) + length
            cursor = piece_end
    return {hour: weighted[hour] / seconds[hour] for hour in weighted}


def _current(
    current: float | str | None, samples: list[tuple[datetime, float | None]], start: datetime
) -> float | None:
    if current is not None and not (
        isinstance(current, str) and current.strip().lower() in NOT_A_VALUE
    ):
        value = as_number(current, "current", E)
        if value < 0:
            raise E("current", f"negative carbon intensity {value!r}")
        return value
    before = [(when, value) for when, value in samples if when <= start]
    if before and before[-1][1] is not None and start - before[-1][0] <= MAX_HOLD:
        return before[-1][1]
    return None
