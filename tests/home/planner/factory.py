"""Small, readable requests for the planner tests: hourly prices expanded to 15-minute slots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from gridcoop_home.planner import Battery, DeferrableLoad, PlanRequest, Site, Tariffs

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday, midnight


def hourly(values: Sequence[float]) -> list[float]:
    """One value per hour -> one per 15-minute slot."""
    return [float(v) for v in values for _ in range(4)]


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def request(prices: Sequence[float], **changes: Any) -> PlanRequest:
    """A hub-connected home with flat 300 W base load, no PV, local prices = `prices` (hourly).

    The grid tariffs bracket the local prices: retail 40, feed-in 5.
    """
    slots = len(prices) * 4
    fields: dict[str, Any] = {
        "start": START,
        "slots": slots,
        "site": Site(grid_limit_w=20_000),
        "tariffs": Tariffs(retail=[40.0] * slots, feed_in=[5.0] * slots),
        "pv_forecast_w": [0.0] * slots,
        "base_load_forecast_w": [300.0] * slots,
        "price_forecast": hourly(prices),
    }
    fields.update(changes)
    return PlanRequest(**fields)


def battery(**changes: Any) -> Battery:
    fields: dict[str, Any] = {
        "capacity_wh": 10_000,
        "max_charge_w": 3_000,
        "max_discharge_w": 3_000,
        "soc_wh": 1_000,
        "reserve_wh": 1_000,
        "degradation_cost": 2.0,
    }
    fields.update(changes)
    return Battery(**fields)


def load(id: str = "dishwasher", **changes: Any) -> DeferrableLoad:
    fields: dict[str, Any] = {
        "id": id,
        "power_w": 2_000,
        "duration_min": 60,
        "earliest_start": at(0),
        "latest_finish": at(8),
    }
    fields.update(changes)
    return DeferrableLoad(**fields)


def slot_of(hours: float) -> int:
    return round(hours * 4)
