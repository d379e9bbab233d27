"""Grid tariffs: the public grid's retail (import) and feed-in (export) prices over the day.

Time-of-use capable: a list of periods, each starting at a local time of day, the last one
wrapping past midnight. Prices in integer minor units per kWh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    start_minute: int  # minutes after local midnight when this period begins
    retail_price: int
    feed_in_price: int


@dataclass(frozen=True, slots=True)
class GridPrices:
    retail_price: int
    feed_in_price: int


@dataclass(frozen=True, slots=True)
class Tariff:
    periods: tuple[TariffPeriod, ...]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a tariff needs at least one period")
        starts = [p.start_minute for p in self.periods]
        if starts != sorted(set(starts)) or starts[0] < 0 or starts[-1] >= 24 * 60:
            raise ValueError("tariff periods must start at distinct, increasing times of day")
        for period in self.periods:
            if period.feed_in_price > period.retail_price:
                raise ValueError(
                    f"period at minute {period.start_minute}: feed-in price above retail price"
                )
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @classmethod
    def flat(cls, retail_price: int, feed_in_price: int) -> Tariff:
        return cls((TariffPeriod(0, retail_price, feed_in_price),))

    def prices_at(self, utc_seconds: int) -> GridPrices:
        local = datetime.fromtimestamp(utc_seconds, UTC).astimezone(ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        current = self.periods[-1]  # before the first start we are still in yesterday's last period
        for period in self.periods:
            if period.start_minute <= minute:
                current = period
        return GridPrices(current.retail_price, current.feed_in_price)
