"""Fill in missing forecasts from history, with a warning for each fallback taken."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

from gridcoop_home.planner.clearsky import clear_sky_pv_w
from gridcoop_home.planner.inputs import SLOT, PlanRequest, Samples

FLAT_BASE_LOAD_W = 400.0  # a typical household's average draw, used when there is no history
DEFAULT_PV_YIELD_RATIO = 0.6  # long-run share of clear-sky output in central Europe
DEFAULT_CARBON_G_PER_KWH = 300.0
HISTORY_WEEKS = 4
MIN_SAME_WEEKDAY_WEEKS = 2


@dataclass(frozen=True, slots=True)
class Forecasts:
    """Every per-slot series the model needs, complete."""

    pv_w: tuple[float, ...]
    base_load_w: tuple[float, ...]
    buy_price: tuple[float, ...]  # what a kWh bought is expected to cost
    sell_price: tuple[float, ...]  # what a kWh sold is expected to earn
    carbon_g_per_kwh: tuple[float, ...] | None
    retail: tuple[float, ...]  # the grid backstop, which bounds every local price
    feed_in: tuple[float, ...]
    warnings: tuple[str, ...]


def slot_starts(start: datetime, slots: int) -> list[datetime]:
    return [start + i * SLOT for i in range(slots)]


def resolve(request: PlanRequest) -> Forecasts:
    warnings: list[str] = []
    times = slot_starts(request.start, request.slots)
    pv = _pv(request, times, warnings)
    base = _base_load(request, times, warnings)
    buy, sell = _prices(request, times, warnings)
    carbon = _carbon(request, warnings)
    retail = tuple(float(v) for v in request.tariffs.retail)
    feed_in = tuple(float(v) for v in request.tariffs.feed_in)
    return Forecasts(pv, base, buy, sell, carbon, retail, feed_in, tuple(warnings))


def _pv(request: PlanRequest, times: list[datetime], warnings: list[str]) -> tuple[float, ...]:
    if request.pv_forecast_w is not None:
        return tuple(float(v) for v in request.pv_forecast_w)
    site = request.site
    if site.pv_peak_w <= 0:
        return tuple(0.0 for _ in times)

    def clear_sky(when: datetime) -> float:
        return clear_sky_pv_w(site.latitude, site.longitude, site.pv_peak_w, when)

    ratio = _yield_ratio(request.history.pv_w, clear_sky)
    if ratio is None:
        ratio = DEFAULT_PV_YIELD_RATIO
        warnings.append(
            f"PV forecast missing and no recent yield: clear-sky model x default {ratio:.2f}"
        )
    else:
        warnings.append(f"PV forecast missing: clear-sky model x recent yield ratio {ratio:.2f}")
    # Evaluated at each slot's midpoint so a slot's energy is not biased early or late.
    return tuple(clear_sky(t + SLOT / 2) * ratio for t in times)


def _yield_ratio(samples: Samples, model: Callable[[datetime], float]) -> float | None:
    """Measured over clear-sky energy for the recorded samples, capped to a plausible range."""
    measured = sum(max(w, 0.0) for t, w in samples if model(t) > 0)
    expected = sum(model(t) for t, _ in samples)
    if expected <= 0:
        return None
    return min(max(measured / expected, 0.0), 1.2)


def _base_load(
    request: PlanRequest, times: list[datetime], warnings: list[str]
) -> tuple[float, ...]:
    if request.base_load_forecast_w is not None:
        return tuple(float(v) for v in request.base_load_forecast_w)
    recent = _recent(request.history.base_load_w, request.start, HISTORY_WEEKS * 7)
    by_weekday: dict[tuple[int, int], list[float]] = defaultdict(list)
    by_time: dict[int, list[float]] = defaultdict(list)
    weeks: dict[tuple[int, int], set[int]] = defaultdict(set)
    for t, w in recent:
        key = (t.weekday(), _slot_of_day(t))
        by_weekday[key].append(w)
        weeks[key].add((request.start - t).days // 7)
        by_time[_slot_of_day(t)].append(w)
    tiers: dict[str, int] = defaultdict(int)
    values = []
    for t in times:
        key = (t.weekday(), _slot_of_day(t))
        if len(weeks[key]) >= MIN_SAME_WEEKDAY_WEEKS:
            values.append(fmean(by_weekday[key]))
        elif by_time[_slot_of_day(t)]:
            tiers["mean daily profile"] += 1
            values.append(fmean(by_time[_slot_of_day(t)]))
        else:
            tiers[f"flat {FLAT_BASE_LOAD_W:.0f} W"] += 1
            values.append(FLAT_BASE_LOAD_W)
    if tiers:
        used = ", ".join(f"{name} for {count} slots" for name, count in tiers.items())
        warnings.append(f"base-load history short: fell back to {used}")
    return tuple(values)


def _prices(
    request: PlanRequest, times: list[datetime], warnings: list[str]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    retail = tuple(float(v) for v in request.tariffs.retail)
    feed_in = tuple(float(v) for v in request.tariffs.feed_in)
    if request.island:
        return retail, feed_in
    local = request.price_forecast
    if local is None:
        local = _price_from_history(request.history.clearing_prices, request.start, times)
    if local is None:
        warnings.append("no local price forecast or history: planning against grid tariffs")
        return retail, feed_in
    # The grid bounds the local price: nobody buys above retail or sells below feed-in.
    clipped = tuple(min(max(p, f), r) for p, f, r in zip(local, feed_in, retail, strict=True))
    return clipped, clipped


def _price_from_history(
    samples: Samples, start: datetime, times: list[datetime]
) -> list[float] | None:
    """Mean clearing price at the same time of day over the last week."""
    by_time: dict[int, list[float]] = defaultdict(list)
    for t, price in _recent(samples, start, 7):
        by_time[_slot_of_day(t)].append(price)
    if not by_time:
        return None
    overall = fmean(p for prices in by_time.values() for p in prices)
    return [fmean(by_time[k]) if (k := _slot_of_day(t)) in by_time else overall for t in times]


def _carbon(request: PlanRequest, warnings: list[str]) -> tuple[float, ...] | None:
    carbon = request.tariffs.carbon_g_per_kwh
    if carbon is not None:
        return tuple(float(v) for v in carbon)
    if request.strategy.profile == "min_carbon":
        warnings.append(
            f"carbon intensity missing: assuming a flat {DEFAULT_CARBON_G_PER_KWH:.0f} g/kWh"
        )
        return tuple(DEFAULT_CARBON_G_PER_KWH for _ in range(request.slots))
    return None


def _recent(samples: Samples, start: datetime, days: int) -> Sequence[tuple[datetime, float]]:
    since = start - timedelta(days=days)
    return [(t, v) for t, v in samples if since <= t < start]


def _slot_of_day(t: datetime) -> int:
    return (t.hour * 60 + t.minute) // 15
