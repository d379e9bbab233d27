"""Solar forecasts of Home Assistant's Energy platform onto the planner's slots.

An integration's `energy.py` answers `async_get_solar_forecast(hass, entry_id)` with
`{"wh_hours": {ISO time: Wh}}`: the energy of one period per key. The period length depends on the
provider (Forecast.Solar about hourly with sunrise and sunset points, Solcast 30 minutes,
Open-Meteo Solar Forecast hourly), and so does what the key marks:

- Forecast.Solar's `watt_hours_period` value at a key is the energy of the period that *ends*
  there (the sunrise key always holds 0 and the sunset key holds the last few minutes); its
  `energy.py` passes the keys through unchanged.
- Solcast (`period_start`) and Open-Meteo (hour floor) key the period by its *start*, which is
  also how Home Assistant's own Energy dashboard reads every provider.

Each value is spread evenly over its period, so an hourly value gives its four quarters a quarter
each, and each slot gets the mean power in W of the energy that falls in it. Several forecasts
(one per array or provider) are summed. A slot counts as covered when it lies inside every
forecast's span (first to last period); inside a span, time no period covers (the night, which
Forecast.Solar leaves out) produced nothing. Uncovered slots are for the caller's clear-sky
fallback (`gridcoop_home.planner.clearsky`); `SolarSlots.filled` merges the two.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from gridcoop_home.planner.inputs import SLOT
from gridcoop_home.sources.errors import SolarForecastError
from gridcoop_home.sources.parsing import as_mapping, as_number, as_utc, item, slot_starts

E = SolarForecastError
LONGEST_PERIOD = timedelta(hours=1)


class PeriodKey(StrEnum):
    """What a forecast's time key marks: the start or the end of its period."""

    START = "start"
    END = "end"


# By the domain of the config entry that provides the forecast; others are read as HA reads them.
PERIOD_KEYS = {
    "forecast_solar": PeriodKey.END,
    "solcast_solar": PeriodKey.START,
    "open_meteo_solar_forecast": PeriodKey.START,
}


def period_key_for(domain: str) -> PeriodKey:
    return PERIOD_KEYS.get(domain, PeriodKey.START)


@dataclass(frozen=True, slots=True)
class EnergyPeriod:
    start: datetime  # UTC
    end: datetime  # UTC
    wh: float


@dataclass(frozen=True, slots=True)
class SolarForecast:
    """One provider's forecast: periods sorted by start, and the span they cover."""

    name: str
    periods: tuple[EnergyPeriod, ...]

    @property
    def span(self) -> tuple[datetime, datetime] | None:
        if not self.periods:
            return None
        return self.periods[0].start, self.periods[-1].end


def parse_solar_forecast(
    forecast: Mapping[str, Any], *, period_key: PeriodKey = PeriodKey.START, name: str = "solar"
) -> SolarForecast:
    """`{"wh_hours": {ISO time: Wh}}` as an Energy platform returns it."""
    wh_hours = as_mapping(item(as_mapping(forecast, name, E), "wh_hours", name, E), "wh_hours", E)
    points: dict[datetime, float] = {}
    for key, value in wh_hours.items():
        where = f"wh_hours[{key!r}]"
        when = as_utc(key, where, E)
        wh = as_number(value, where, E)
        if wh < 0:
            raise E(where, f"negative energy {wh!r} Wh")
        points[when] = wh
    return SolarForecast(name, tuple(_periods(points, period_key)))


def _periods(points: dict[datetime, float], period_key: PeriodKey) -> list[EnergyPeriod]:
    """Each key's period reaches to the neighbouring key (or the usual step, past a gap)."""
    keys = sorted(points)
    steps = Counter(b - a for a, b in itertools.pairwise(keys))
    usual = [step for step in steps if step <= LONGEST_PERIOD]
    step = min(usual, key=lambda s: (-steps[s], s)) if usual else LONGEST_PERIOD
    periods = []
    for i, key in enumerate(keys):
        if period_key is PeriodKey.START:
            after = keys[i + 1] if i + 1 < len(keys) else None
            end = after if after is not None and after - key <= LONGEST_PERIOD else key + step
            periods.append(EnergyPeriod(key, end, points[key]))
        else:
            before = keys[i - 1] if i > 0 else None
            begin = before if before is not None and key - before <= LONGEST_PERIOD else key - step
            periods.append(EnergyPeriod(begin, key, points[key]))
    return periods


@dataclass(frozen=True, slots=True)
class SolarSlots:
    start: datetime
    pv_w: tuple[float, ...]  # mean forecast power per slot, W (only meaningful where covered)
    covered: tuple[bool, ...]
    warnings: tuple[str, ...]

    @property
    def covered_slots(self) -> int:
        return sum(self.covered)

    def filled(self, fallback_w: Sequence[float]) -> tuple[float, ...]:
        """The forecast where covered, `fallback_w` (e.g. the clear-sky model) elsewhere."""
        if len(fallback_w) != len(self.pv_w):
            raise E("fallback_w", f"has {len(fallback_w)} values for {len(self.pv_w)} slots")
        return tuple(
            w if covered else float(fallback)
            for w, covered, fallback in zip(self.pv_w, self.covered, fallback_w, strict=True)
        )


def solar_for_slots(
    forecasts: Sequence[SolarForecast], start: datetime, slots: int, *, tz: tzinfo = UTC
) -> SolarSlots:
    """The summed forecasts as mean W per slot from `start`, with coverage."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise E("start", "must be timezone-aware")
    if slots < 1:
        raise E("slots", "must be at least 1")
    starts = slot_starts(start, slots)
    energy = [0.0] * slots
    covered = [bool(forecasts)] * slots
    warnings = []
    for forecast in forecasts:
        span = forecast.span
        if span is None:
            warnings.append(f"{forecast.name}: the forecast is empty")
        ends = [p.end for p in forecast.periods]
        for i, t in enumerate(starts):
            covered[i] = covered[i] and span is not None and span[0] <= t and t + SLOT <= span[1]
            energy[i] += _energy_in(forecast.periods, ends, t, t + SLOT)
    hours = SLOT.total_seconds() / 3600
    count = sum(covered)
    if count < slots:
        missing = [i for i, c in enumerate(covered) if not c]
        first = f"{starts[missing[0]].astimezone(tz):%Y-%m-%d %H:%M}"
        warnings.append(
            f"solar forecast covers {count} of {slots} slots (first missing {first}): "
            "the rest need the clear-sky fallback"
        )
    return SolarSlots(start, tuple(e / hours for e in energy), tuple(covered), tuple(warnings))


def _energy_in(
    periods: Sequence[EnergyPeriod], ends: list[datetime], start: datetime, end: datetime
) -> float:
    """The energy of the (sorted, disjoint) periods that falls in [start, end), spread evenly."""
    total = 0.0
    for period in periods[bisect.bisect_right(ends, start) :]:
        if period.start >= end:
            break
        overlap = (min(end, period.end) - max(start, period.start)).total_seconds()
        total += period.wh * overlap / (period.end - period.start).total_seconds()
    return total
