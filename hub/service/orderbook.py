"""The public order book of a cleared interval: every home's bid steps merged into one demand and
one supply curve, with no trace of which home bid what.

Prices are the *effective* prices the market clears on (docs/market.md, rule 1):
a buy step counts at min(price, retail) - fee, a sell step at max(price, feed-in) + fee. The
curves therefore cross exactly where the clearing found its volume and price range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from hub.store.records import IntervalRecord


@dataclass(frozen=True, slots=True)
class Level:
    price: int  # effective price, minor units per kWh
    energy_wh: int  # energy of all steps at this price
    cumulative_wh: int  # energy at this price or better (higher for demand, lower for supply)


def _levels(by_price: Mapping[int, int], descending: bool) -> list[Level]:
    levels, total = [], 0
    for price in sorted(by_price, reverse=descending):
        total += by_price[price]
        levels.append(Level(price, by_price[price], total))
    return levels


def aggregate(
    bodies: Iterable[Mapping[str, Any]], retail: int, feed_in: int, fee: int
) -> tuple[list[Level], list[Level]]:
    """(demand, supply): demand from the highest price down, supply from the lowest up."""
    demand: dict[int, int] = defaultdict(int)
    supply: dict[int, int] = defaultdict(int)
    for body in bodies:
        for step in body.get("buy", ()):
            demand[min(int(step["price"]), retail) - fee] += int(step["energy_wh"])
        for step in body.get("sell", ()):
            supply[max(int(step["price"]), feed_in) + fee] += int(step["energy_wh"])
    return _levels(demand, descending=True), _levels(supply, descending=False)


def order_book(
    interval: IntervalRecord, bodies: Iterable[Mapping[str, Any]], market_mode: str
) -> dict[str, Any]:
    demand, supply = aggregate(
        bodies, interval.retail_price, interval.feed_in_price, interval.fee_per_kwh
    )
    return {
        "interval_start": interval.interval_start,
        "interval_end": interval.interval_end,
        "market_mode": market_mode,
        "price_basis": "effective",
        "participants": interval.participants,
        "retail_price": interval.retail_price,
        "feed_in_price": interval.feed_in_price,
        "fee_per_kwh": interval.fee_per_kwh,
        "k_percent": interval.k_percent,
        "demand": [asdict(level) for level in demand],
        "supply": [asdict(level) for level in supply],
        "clearing": {
            "price": interval.price,
            "price_low": interval.price_low,
            "price_high": interval.price_high,
            "volume_wh": interval.volume_wh,
        },
        "grid": {
            "import_wh": interval.grid_import_wh,
            "export_wh": interval.grid_export_wh,
        },
    }
