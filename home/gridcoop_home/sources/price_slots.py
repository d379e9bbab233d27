"""A price series onto the planner's 15-minute slots, with a fallback for hours without prices.

Each slot's price is the time-weighted mean of the source's prices over the slot: a 60-minute
price applies to its four quarters, a 30-minute one to two, 15-minute prices are kept, and an
interval that straddles a slot boundary counts for the part inside the slot. All arithmetic is on
UTC instants, so 23- and 25-hour days need no special case.

Slots the source does not cover at all (tomorrow's day-ahead prices are published around 13:00
CET, so every morning plan reaches past them) are filled, with one warning per way of filling:

- `GapFill.REPEAT_DAY` (default): the source's price at the same local time on the latest earlier
  day (up to `repeat_days` back) that has one; day-ahead prices repeat their daily shape well.
- `GapFill.FLAT`: `flat_price` (e.g. the owner's flat grid tariff).

When neither gives a price, `flat_price` is used if given, else the source's mean price. Only a
source with no prices at all and no `flat_price` raises `PriceSourceError`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from gridcoop_home.planner.inputs import SLOT
from gridcoop_home.sources.errors import PriceSourceError
from gridcoop_home.sources.parsing import slot_starts
from gridcoop_home.sources.prices import PriceInterval, PriceSeries

DAY_AHEAD_NOTE = "day-ahead prices for tomorrow are published around 13:00 CET"


class GapFill(StrEnum):
    REPEAT_DAY = "repeat_day"
    FLAT = "flat"


@dataclass(frozen=True, slots=True)
class SlotPrices:
    """One price per planner slot, minor currency units per kWh."""

    start: datetime
    currency: str
    prices: tuple[float, ...]
    from_source: tuple[bool, ...]  # True where the source covered the whole slot
    warnings: tuple[str, ...]

    @property
    def slot_starts(self) -> tuple[datetime, ...]:
        return tuple(slot_starts(self.start, len(self.prices)))


class _Coverage:
    """Time-weighted lookups over a series' sorted, disjoint intervals."""

    def __init__(self, intervals: Sequence[PriceInterval]) -> None:
        self.intervals = intervals
        self.ends = [i.end for i in intervals]

    def mean(self, start: datetime, end: datetime) -> tuple[float | None, float]:
        """Mean price over the covered part of [start, end) and the covered fraction."""
        weighted = covered = 0.0
        prices = set()
        for interval in self.intervals[bisect.bisect_right(self.ends, start) :]:
            if interval.start >= end:
                break
            seconds = (min(end, interval.end) - max(start, interval.start)).total_seconds()
            weighted += interval.price * seconds
            covered += seconds
            prices.add(interval.price)
        if covered == 0:
            return None, 0.0
        # One price over the whole covered part: return it exactly, not re-derived from sums.
        mean = prices.pop() if len(prices) == 1 else weighted / covered
        return mean, covered / (end - start).total_seconds()


def prices_for_slots(
    series: PriceSeries,
    start: datetime,
    slots: int,
    *,
    tz: tzinfo = UTC,
    gap_fill: GapFill = GapFill.REPEAT_DAY,
    flat_price: float | None = None,
    repeat_days: int = 7,
) -> SlotPrices:
    """`slots` prices from `start` (aware); `tz` is the home's time zone (for "same local time"
    and for the times in warnings)."""
    _check(start, slots, gap_fill, flat_price, repeat_days)
    coverage = _Coverage(series.intervals)
    starts = slot_starts(start, slots)
    prices: list[float | None] = []
    full: list[bool] = []
    partial = 0
    for t in starts:
        price, fraction = coverage.mean(t, t + SLOT)
        prices.append(price)
        full.append(fraction >= 1.0 - 1e-9)
        partial += 0.0 < fraction < 1.0 - 1e-9
    warnings = list(series.warnings)
    if partial:
        warnings.append(
            f"{series.source}: {partial} slots only partly covered: "
            "priced at the mean over the covered part"
        )
    gaps = [i for i, price in enumerate(prices) if price is None]
    if gaps:
        warnings += _fill(
            series, coverage, starts, prices, gaps, tz, gap_fill, flat_price, repeat_days
        )
    filled = tuple(p for p in prices if p is not None)
    return SlotPrices(start, series.currency, filled, tuple(full), tuple(warnings))


def _check(
    start: datetime, slots: int, gap_fill: GapFill, flat_price: float | None, repeat_days: int
) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise PriceSourceError("start", "must be timezone-aware")
    if slots < 1:
        raise PriceSourceError("slots", "must be at least 1")
    if repeat_days < 1:
        raise PriceSourceError("repeat_days", "must be at least 1")
    if flat_price is not None and not math.isfinite(flat_price):
        raise PriceSourceError("flat_price", "must be a finite number")
    if gap_fill is GapFill.FLAT and flat_price is None:
        raise PriceSourceError("flat_price", "needed when gaps are filled with a flat price")


def _fill(
    series: PriceSeries,
    coverage: _Coverage,
    starts: list[datetime],
    prices: list[float | None],
    gaps: list[int],
    tz: tzinfo,
    gap_fill: GapFill,
    flat_price: float | None,
    repeat_days: int,
) -> list[str]:
    """Fill `prices[i]` for every gap in place; return one warning per way of filling."""
    used: dict[str, list[int]] = {}
    mean = _series_mean(series)
    for i in gaps:
        price, how = None, ""
        if gap_fill is GapFill.REPEAT_DAY:
            price = _same_time_earlier(coverage, starts[i], tz, repeat_days)
            how = "the price at the same local time on an earlier day"
        if price is None and flat_price is not None:
            price, how = flat_price, f"the flat price {flat_price:g}"
        if price is None and mean is not None:
            price, how = mean, f"the source's mean price {mean:.4g}"
        if price is None:
            raise PriceSourceError(
                "prices", f"{series.source} has no prices at all and no flat price was given"
            )
        prices[i] = price
        used.setdefault(how, []).append(i)
    late = series.end is None or starts[gaps[0]] >= series.end
    note = f" ({DAY_AHEAD_NOTE})" if late else ""
    return [
        f"{series.source}: no price for {len(slots)} slots ({_span(starts, slots, tz)}){note}: "
        f"used {how}"
        for how, slots in used.items()
    ]


def _same_time_earlier(coverage: _Coverage, when: datetime, tz: tzinfo, days: int) -> float | None:
    """The fully covered price at the same local wall time 1, 2, ... `days` days earlier."""
    local = when.astimezone(tz)
    for back in range(1, days + 1):
        # Wall-clock arithmetic (same tzinfo), so 23- and 25-hour days keep the local time.
        earlier = (local - timedelta(days=back)).astimezone(UTC)
        price, fraction = coverage.mean(earlier, earlier + SLOT)
        if price is not None and fraction >= 1.0 - 1e-9:
            return price
    return None


def _series_mean(series: PriceSeries) -> float | None:
    seconds = sum(i.length.total_seconds() for i in series.intervals)
    if not seconds:
        return None
    return sum(i.price * i.length.total_seconds() for i in series.intervals) / seconds


def _span(starts: list[datetime], indices: list[int], tz: tzinfo) -> str:
    first = starts[indices[0]].astimezone(tz)
    last = (starts[indices[-1]] + SLOT).astimezone(tz)
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"
