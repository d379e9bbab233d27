"""Rolling horizon: move a request one slot on, given what actually happened, and re-plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from gridcoop_home.planner.inputs import EV, SLOT, Battery, DeferrableLoad, PlanRequest
from gridcoop_home.planner.planner import plan
from gridcoop_home.planner.results import Plan
from gridcoop_home.planner.validate import load_energy_wh

SLOTS_PER_DAY = 96
DONE_WH = 1.0


@dataclass(frozen=True, slots=True)
class Actuals:
    """What happened in the slot that just ended. Measured states win over derived ones."""

    battery_soc_wh: float | None = None
    battery_charge_wh: float = 0.0  # at the meter
    battery_discharge_wh: float = 0.0
    ev_soc_wh: float | None = None
    ev_charged_wh: float = 0.0  # at the meter
    ev_plugged_in: bool | None = None  # None: unchanged
    load_energy_wh: Mapping[str, float] = field(default_factory=dict)


def advance(request: PlanRequest, actual: Actuals) -> PlanRequest:
    """The request for the next slot: state updated, forecasts shifted by one slot.

    The new last slot reuses the forecast from one day earlier (or the last value on horizons
    shorter than a day); callers with fresher forecasts replace the series afterwards.
    """
    start = request.start + SLOT
    tariffs = request.tariffs
    return replace(
        request,
        start=start,
        tariffs=replace(
            tariffs,
            retail=_shift(tariffs.retail),
            feed_in=_shift(tariffs.feed_in),
            carbon_g_per_kwh=_shift_optional(tariffs.carbon_g_per_kwh),
        ),
        pv_forecast_w=_shift_optional(request.pv_forecast_w),
        base_load_forecast_w=_shift_optional(request.base_load_forecast_w),
        price_forecast=_shift_optional(request.price_forecast),
        battery=_battery(request.battery, actual),
        ev=_ev(request.ev, actual, request),
        loads=tuple(
            load
            for old in request.loads
            if (load := _load(old, actual.load_energy_wh.get(old.id, 0.0))) is not None
        ),
    )


def replan(request: PlanRequest, actual: Actuals) -> tuple[PlanRequest, Plan]:
    """Advance one slot and plan again; returns the new request (keep it for the next call)."""
    nxt = advance(request, actual)
    return nxt, plan(nxt)


def _shift(values: Sequence[float]) -> tuple[float, ...]:
    n = len(values)
    tail = values[n - SLOTS_PER_DAY] if n >= SLOTS_PER_DAY else values[-1]
    return (*values[1:], tail)


def _shift_optional(values: Sequence[float] | None) -> tuple[float, ...] | None:
    return None if values is None else _shift(values)


def _battery(battery: Battery | None, actual: Actuals) -> Battery | None:
    if battery is None:
        return None
    soc = actual.battery_soc_wh
    if soc is None:
        soc = (
            battery.soc_wh
            + actual.battery_charge_wh * battery.charge_efficiency
            - actual.battery_discharge_wh / battery.discharge_efficiency
        )
    return replace(battery, soc_wh=min(max(soc, 0.0), battery.capacity_wh))


def _ev(ev: EV | None, actual: Actuals, request: PlanRequest) -> EV | None:
    if ev is None or ev.departure <= request.start + SLOT:
        return None  # gone: nothing left to plan for it
    soc = actual.ev_soc_wh
    if soc is None:
        soc = ev.soc_wh + actual.ev_charged_wh * ev.charge_efficiency
    plugged = ev.plugged_in if actual.ev_plugged_in is None else actual.ev_plugged_in
    return replace(ev, soc_wh=min(max(soc, 0.0), ev.capacity_wh), plugged_in=plugged)


def _load(load: DeferrableLoad, used_wh: float) -> DeferrableLoad | None:
    remaining = load_energy_wh(load) - used_wh
    if remaining < DONE_WH:
        return None
    started = load.running or (used_wh > 0 and not load.interruptible)
    return replace(load, energy_wh=remaining, duration_min=None, running=started)
