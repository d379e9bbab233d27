"""The end-of-horizon rule in the model's units: the battery's final target and stored value.

A plan that ends with the horizon would empty the battery at its end: energy left over must be
worth something. By default each kWh left is worth the mean expected buy price after discharge
losses; the owner can set that value, and/or ask for a final state of charge. The target is
soft: its shortfall costs more than any kWh the horizon could buy (so the plan reaches it
whenever the battery's charging power allows), and less than nothing physical.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from gridcoop_home.planner.forecast import Forecasts
from gridcoop_home.planner.inputs import SLOT, SLOT_HOURS, PlanRequest, Profile

# Minor units per kWh short of the target, on top of twice the dearest kWh of the horizon.
END_TARGET_PENALTY = 500.0


@dataclass(frozen=True, slots=True)
class EndSpec:
    value_per_kwh: float  # what each kWh left in the battery at the end is worth
    target_kwh: float | None  # the final state of charge asked for
    target_fraction: float | None
    reachable_kwh: float  # the most the battery can hold at the end, charging at full power
    penalty_per_kwh: float  # what each kWh short of the target costs in the objective
    at: datetime  # when the horizon ends


def end_spec(request: PlanRequest, forecasts: Forecasts) -> EndSpec | None:
    battery = request.battery
    if battery is None:
        return None
    rule = request.end_of_horizon
    value = rule.stored_value
    if value is None:
        value = fmean(forecasts.buy_price) * battery.discharge_efficiency
    cap = battery.capacity_wh / 1000
    gain = battery.max_charge_w / 1000 * battery.charge_efficiency * SLOT_HOURS * request.slots
    target = None if rule.soc_target is None else rule.soc_target * cap
    return EndSpec(
        value_per_kwh=value,
        target_kwh=target,
        target_fraction=rule.soc_target,
        reachable_kwh=min(battery.soc_wh / 1000 + gain, cap),
        penalty_per_kwh=_penalty(request, forecasts),
        at=request.start + request.slots * SLOT,
    )


def _penalty(request: PlanRequest, forecasts: Forecasts) -> float:
    """Per kWh short: more than charging that kWh could ever cost, wear and losses included."""
    battery = request.battery
    assert battery is not None
    dearest = _dearest_kwh(request, forecasts) + battery.degradation_cost
    return END_TARGET_PENALTY + 2 * dearest / battery.charge_efficiency


def _dearest_kwh(request: PlanRequest, forecasts: Forecasts) -> float:
    """An upper bound on what one kWh bought or not sold adds to the objective in any slot."""
    prices = (*forecasts.buy_price, *forecasts.sell_price, *forecasts.retail, *forecasts.feed_in)
    dearest = max((abs(p) for p in prices), default=0.0)
    strategy = request.strategy
    if strategy.profile == Profile.STABLE_BILL:
        dearest *= 1 + strategy.over_budget_weight
    if strategy.profile == Profile.MIN_CARBON and forecasts.carbon_g_per_kwh:
        dearest += strategy.carbon_price_per_kg / 1000 * max(forecasts.carbon_g_per_kwh)
    return dearest
