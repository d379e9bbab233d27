"""One price series type for every price source: UTC intervals, minor currency units per kWh.

A `PriceSeries` holds what a source said, normalised: each interval's UTC start and end and its
price in minor currency units (cents, öre, pence) per kWh, VAT and surcharges as the source gave
them. Intervals are sorted and never overlap. Resampling onto the planner's slots lives in
`gridcoop_home.sources.price_slots`.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gridcoop_home.sources.errors import PriceSourceError

# How many kWh one unit of energy is.
KWH_PER_UNIT = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
_ENERGY_NAMES = {name.lower(): name for name in KWH_PER_UNIT}
# Names of minor currency units seen in Home Assistant price sensors ("c/kWh", "öre/kWh").
_MINOR_NAMES = {"c", "ct", "cent", "cents", "öre", "ore", "øre", "p", "pence", "snt", "gr"}
# Symbols that name one currency; "$" and "kr" name several, so those need `currency`.
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "", "kr": ""}
DEFAULT_MINOR_PER_MAJOR = 100
# Day-ahead and retail tariffs never use intervals longer than this; a longer distance between
# two listed start times is a gap, not a long interval.
LONGEST_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PriceUnit:
    """How a source states prices: currency per energy unit, in major or minor currency units."""

    currency: str  # ISO 4217 code, e.g. "EUR"
    energy: str = "kWh"  # "Wh", "kWh" or "MWh"
    minor: bool = False  # True when the values are already cents, öre, pence
    minor_per_major: int = DEFAULT_MINOR_PER_MAJOR

    def __post_init__(self) -> None:
        if self.energy not in KWH_PER_UNIT:
            raise PriceSourceError("unit", f"energy unit {self.energy!r} is not Wh, kWh or MWh")
        if self.minor_per_major <= 0:
            raise PriceSourceError("minor_per_major", "must be positive")
        if not self.currency.strip():
            raise PriceSourceError("currency", "missing")

    def to_minor_per_kwh(self, value: float) -> float:
        per_kwh = value / KWH_PER_UNIT[self.energy]
        return per_kwh if self.minor else per_kwh * self.minor_per_major

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        currency: str | None = None,
        minor_per_major: int = DEFAULT_MINOR_PER_MAJOR,
    ) -> PriceUnit:
        """A unit of measurement such as "EUR/kWh", "SEK/MWh", "c/kWh" (needs `currency`)."""
        money, slash, energy = text.strip().partition("/")
        money = money.strip()
        if not slash:
            raise PriceSourceError("unit", f"{text!r} is not a price per Wh, kWh or MWh")
        energy = energy_unit(energy, "unit")
        minor = money.lower() in _MINOR_NAMES
        code = "" if minor else _CURRENCY_SYMBOLS.get(money, money.upper())
        if currency:
            code = currency.upper()
        if not code:
            raise PriceSourceError("unit", f"{text!r} names no currency: give the currency")
        return cls(code, energy, minor, minor_per_major)


def energy_unit(text: str, field: str) -> str:
    """ "kWh" (any case) -> "kWh"; anything but Wh, kWh and MWh is refused."""
    name = _ENERGY_NAMES.get(text.strip().lower())
    if name is None:
        raise PriceSourceError(field, f"{text!r} is not Wh, kWh or MWh")
    return name


@dataclass(frozen=True, slots=True)
class PriceInterval:
    start: datetime  # UTC
    end: datetime  # UTC, after start
    price: float  # minor currency units per kWh

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Prices of one source, sorted, without overlaps; gaps are allowed."""

    currency: str
    intervals: tuple[PriceInterval, ...]
    source: str  # names the source in warnings, e.g. "Nord Pool SE3"
    # The interval lengths the source used (15, 30, 60 minutes), shortest first.
    resolutions: tuple[timedelta, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def resolution(self) -> timedelta | None:
        """The source's one interval length, or None when it mixes several (or is empty)."""
        return self.resolutions[0] if len(self.resolutions) == 1 else None

    @property
    def start(self) -> datetime | None:
        return self.intervals[0].start if self.intervals else None

    @property
    def end(self) -> datetime | None:
        return self.intervals[-1].end if self.intervals else None


def build_series(
    currency: str,
    intervals: Sequence[PriceInterval],
    source: str,
    warnings: Iterable[str] = (),
) -> PriceSeries:
    """Sort and de-overlap `intervals` (given in the source's order; a later one is newer data).

    Where two intervals overlap, the one listed later wins for the overlapping time: lists are
    concatenated oldest first (yesterday, today, tomorrow). Identical repeats pass silently;
    conflicting prices add a warning.
    """
    notes = list(warnings)
    resolutions = tuple(sorted({i.length for i in intervals}))
    ordered = sorted(intervals, key=lambda i: i.start)
    if all(a.end <= b.start for a, b in itertools.pairwise(ordered)):
        return PriceSeries(currency, tuple(ordered), source, resolutions, tuple(notes))
    kept: list[PriceInterval] = []  # sorted by start, disjoint
    conflicts = 0
    for interval in reversed(intervals):
        pieces, conflicting = _uncovered(interval, kept)
        conflicts += conflicting
        for piece in pieces:
            bisect.insort(kept, piece, key=lambda i: i.start)
    if conflicts:
        notes.append(
            f"{source}: {conflicts} overlapping intervals with different prices: "
            "the later-listed price was used"
        )
    return PriceSeries(currency, tuple(kept), source, resolutions, tuple(notes))


def _uncovered(
    interval: PriceInterval, kept: list[PriceInterval]
) -> tuple[list[PriceInterval], int]:
    """The parts of `interval` no kept interval covers, and how many kept ones disagree on price."""
    pieces: list[PriceInterval] = []
    conflicts = 0
    cursor = interval.start
    first = bisect.bisect_right([k.end for k in kept], interval.start)
    for other in kept[first:]:
        if other.start >= interval.end:
            break
        if other.price != interval.price:
            conflicts += 1
        if other.start > cursor:
            pieces.append(PriceInterval(cursor, other.start, interval.price))
        cursor = max(cursor, other.end)
    if cursor < interval.end:
        pieces.append(PriceInterval(cursor, interval.end, interval.price))
    return pieces, conflicts


def merge_series(*series: PriceSeries) -> PriceSeries:
    """One series from several (e.g. today's and tomorrow's responses); later arguments win."""
    if not series:
        raise PriceSourceError("series", "nothing to merge")
    currencies = {s.currency for s in series if s.intervals}
    if len(currencies) > 1:
        raise PriceSourceError("currency", f"cannot merge prices in {sorted(currencies)}")
    currency = currencies.pop() if currencies else series[0].currency
    intervals = [i for s in series for i in s.intervals]
    warnings = [w for s in series for w in s.warnings]
    merged = build_series(currency, intervals, series[-1].source, warnings)
    resolutions = tuple(sorted({r for s in series for r in s.resolutions}))
    return PriceSeries(
        merged.currency, merged.intervals, merged.source, resolutions, merged.warnings
    )


def intervals_from_starts(
    points: Sequence[tuple[datetime, float]], default_step: timedelta
) -> list[PriceInterval]:
    """Intervals for sources that list only start times (Tibber, ENTSO-e).

    Each price lasts until the next listed start, unless that is more than an hour away (a gap);
    then, and for the last price, it lasts the source's most common step (`default_step` when a
    single price gives no step to go by). A repeated start keeps its later price.
    """
    by_start = dict(points)  # a repeated start: the later price wins
    starts = sorted(by_start)
    steps = Counter(b - a for a, b in itertools.pairwise(starts))
    usual = [step for step, _ in steps.most_common() if step <= LONGEST_INTERVAL]
    step = min(usual, key=lambda s: (-steps[s], s)) if usual else default_step
    intervals = []
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        length = after - here if after is not None and after - here <= LONGEST_INTERVAL else step
        intervals.append(PriceInterval(here, here + length, by_start[here]))
    return intervals
