"""Reject requests the planner cannot honour, naming the offending field."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime

from gridcoop_home.planner.errors import PlannerInputError
from gridcoop_home.planner.inputs import (
    EV,
    MAX_SLOTS,
    Battery,
    DeferrableLoad,
    EndOfHorizon,
    PlanRequest,
    Strategy,
)

# Load ids become bid asset tags "load:<id>", so they follow the wire protocol's pattern.
LOAD_ID = re.compile(r"^[a-z0-9_\-]{1,32}$")


def validate(request: PlanRequest) -> None:
    """Raise PlannerInputError for the first impossible or malformed input found."""
    _check_start(request.start)
    if not 1 <= request.slots <= MAX_SLOTS:
        raise PlannerInputError("slots", f"must be between 1 and {MAX_SLOTS} (48 h)")
    if not request.site.grid_limit_w > 0:
        raise PlannerInputError("site.grid_limit_w", "must be positive")
    _non_negative("site.pv_peak_w", request.site.pv_peak_w)
    _series("tariffs.retail", request.tariffs.retail, request.slots, allow_negative=True)
    _series("tariffs.feed_in", request.tariffs.feed_in, request.slots, allow_negative=True)
    tariffs = zip(request.tariffs.retail, request.tariffs.feed_in, strict=True)
    for i, (retail, feed_in) in enumerate(tariffs):
        if feed_in > retail:
            raise PlannerInputError("tariffs.feed_in", f"slot {i}: feed-in above retail")
    optional = {
        "tariffs.carbon_g_per_kwh": request.tariffs.carbon_g_per_kwh,
        "pv_forecast_w": request.pv_forecast_w,
        "base_load_forecast_w": request.base_load_forecast_w,
    }
    for name, series in optional.items():
        if series is not None:
            _series(name, series, request.slots, allow_negative=False)
    if request.price_forecast is not None:
        _series("price_forecast", request.price_forecast, request.slots, allow_negative=True)
    if request.battery is not None:
        _check_battery(request.battery)
    if request.ev is not None:
        _check_ev(request.ev)
    _check_loads(request.loads)
    _check_strategy(request.strategy)
    _check_end_of_horizon(request.end_of_horizon)


def _check_start(start: datetime) -> None:
    if start.tzinfo is None:
        raise PlannerInputError("start", "must be timezone-aware")
    if start.minute % 15 or start.second or start.microsecond:
        raise PlannerInputError("start", "must be aligned to a 15-minute slot")


def _series(name: str, values: Sequence[float], slots: int, *, allow_negative: bool) -> None:
    if len(values) != slots:
        raise PlannerInputError(name, f"has {len(values)} values for {slots} slots")
    for i, value in enumerate(values):
        if not math.isfinite(value):
            raise PlannerInputError(name, f"slot {i} is not a finite number")
        if not allow_negative and value < 0:
            raise PlannerInputError(name, f"slot {i} is negative")


def _non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise PlannerInputError(name, "must be a non-negative number")


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise PlannerInputError(name, "must be positive")


def _efficiency(name: str, value: float) -> None:
    if not 0 < value <= 1:
        raise PlannerInputError(name, "must be in (0, 1]")


def _check_battery(battery: Battery) -> None:
    _positive("battery.capacity_wh", battery.capacity_wh)
    _non_negative("battery.max_charge_w", battery.max_charge_w)
    _non_negative("battery.max_discharge_w", battery.max_discharge_w)
    _non_negative("battery.degradation_cost", battery.degradation_cost)
    _efficiency("battery.charge_efficiency", battery.charge_efficiency)
    _efficiency("battery.discharge_efficiency", battery.discharge_efficiency)
    if not 0 <= battery.reserve_wh <= battery.capacity_wh:
        raise PlannerInputError("battery.reserve_wh", "must be between 0 and the capacity")
    if not 0 <= battery.soc_wh <= battery.capacity_wh:
        raise PlannerInputError("battery.soc_wh", "must be between 0 and the capacity")


def _check_ev(ev: EV) -> None:
    _positive("ev.capacity_wh", ev.capacity_wh)
    _positive("ev.max_charge_w", ev.max_charge_w)
    _non_negative("ev.min_charge_w", ev.min_charge_w)
    if ev.min_charge_w > ev.max_charge_w:
        raise PlannerInputError("ev.min_charge_w", "is above ev.max_charge_w")
    _efficiency("ev.charge_efficiency", ev.charge_efficiency)
    if not 0 <= ev.soc_wh <= ev.capacity_wh:
        raise PlannerInputError("ev.soc_wh", "must be between 0 and the capacity")
    if ev.target_wh > ev.capacity_wh:
        raise PlannerInputError("ev.target_wh", "is above the battery capacity")
    _non_negative("ev.target_wh", ev.target_wh)
    if ev.departure.tzinfo is None:
        raise PlannerInputError("ev.departure", "must be timezone-aware")
    if ev.earliest_start is not None:
        if ev.earliest_start.tzinfo is None:
            raise PlannerInputError("ev.earliest_start", "must be timezone-aware")
        if ev.earliest_start >= ev.departure:
            raise PlannerInputError("ev.earliest_start", "must be before ev.departure")


def _check_loads(loads: Sequence[DeferrableLoad]) -> None:
    seen: set[str] = set()
    for load in loads:
        where = f"loads[{load.id}]"
        if not LOAD_ID.match(load.id):
            raise PlannerInputError(f"{where}.id", "must match [a-z0-9_-]{1,32}")
        if load.id in seen:
            raise PlannerInputError(f"{where}.id", "is used twice")
        seen.add(load.id)
        _check_load(load, where)


def _check_load(load: DeferrableLoad, where: str) -> None:
    _positive(f"{where}.power_w", load.power_w)
    _non_negative(f"{where}.discomfort_per_hour", load.discomfort_per_hour)
    _non_negative(f"{where}.skip_cost", load.skip_cost)
    if (load.energy_wh is None) == (load.duration_min is None):
        raise PlannerInputError(f"{where}.energy_wh", "give exactly one of energy_wh, duration_min")
    if load.energy_wh is not None:
        _positive(f"{where}.energy_wh", load.energy_wh)
    if load.duration_min is not None:
        _positive(f"{where}.duration_min", load.duration_min)
    if load.earliest_start.tzinfo is None or load.latest_finish.tzinfo is None:
        raise PlannerInputError(f"{where}.earliest_start", "window must be timezone-aware")
    window_h = (load.latest_finish - load.earliest_start).total_seconds() / 3600
    if window_h < load_energy_wh(load) / load.power_w - 1e-9:
        raise PlannerInputError(f"{where}.latest_finish", "window is shorter than the run time")


def _check_strategy(strategy: Strategy) -> None:
    _non_negative("strategy.carbon_price_per_kg", strategy.carbon_price_per_kg)
    _non_negative("strategy.monthly_budget", strategy.monthly_budget)
    _non_negative("strategy.over_budget_weight", strategy.over_budget_weight)
    _non_negative("strategy.under_budget_weight", strategy.under_budget_weight)


def _check_end_of_horizon(rule: EndOfHorizon) -> None:
    target = rule.soc_target
    if target is not None and not (math.isfinite(target) and 0 <= target <= 1):
        raise PlannerInputError(
            "end_of_horizon.soc_target", "must be a fraction of the capacity between 0 and 1"
        )
    if rule.stored_value is not None:
        _non_negative("end_of_horizon.stored_value", rule.stored_value)


def load_energy_wh(load: DeferrableLoad) -> float:
    if load.energy_wh is not None:
        return load.energy_wh
    return load.power_w * (load.duration_min or 0.0) / 60
