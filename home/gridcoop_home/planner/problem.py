"""The request turned into slot indices and kW/kWh: the form the optimisation model reads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from gridcoop_home.planner.errors import PlannerInputError
from gridcoop_home.planner.forecast import Forecasts, resolve
from gridcoop_home.planner.horizon_end import EndSpec, end_spec
from gridcoop_home.planner.inputs import (
    SLOT,
    SLOT_HOURS,
    Battery,
    DeferrableLoad,
    PlanRequest,
    Strategy,
)
from gridcoop_home.planner.validate import load_energy_wh, validate

HOURS_PER_MONTH = 730.5  # 365.25 days / 12


@dataclass(frozen=True, slots=True)
class EVSpec:
    capacity_kwh: float
    soc_kwh: float
    required_kwh: float  # what the EV must hold at slot `deadline` (end of that slot)
    deadline: int  # last slot it may charge in (exclusive bound: slots < deadline)
    first: int  # first slot it may charge in (its earliest start, rounded up to a slot)
    max_kw: float
    min_kw: float
    efficiency: float
    reachable_kwh: float  # the most it can hold by the deadline with the charger alone


@dataclass(frozen=True, slots=True)
class LoadSpec:
    id: str
    kw: float  # running (or, if interruptible, maximum) power
    energy_kwh: float
    first: int  # first slot it may run in
    end: int  # slots < end
    run_slots: int  # for non-interruptible loads: how many slots it runs
    interruptible: bool
    discomfort_per_hour: float
    optional: bool
    skip_cost: float
    running: bool


@dataclass(frozen=True, slots=True)
class Problem:
    start: datetime
    slots: int
    forecasts: Forecasts
    grid_limit_kw: float
    battery: Battery | None
    ev: EVSpec | None
    loads: tuple[LoadSpec, ...]
    strategy: Strategy
    warnings: tuple[str, ...]
    # Per slot: the connection limit, lowered by the grid operator's limit where there is one.
    import_limit_kw: tuple[float, ...] = ()
    export_limit_kw: tuple[float, ...] = ()
    # The battery's end-of-horizon rule (None without a battery).
    end: EndSpec | None = None

    @property
    def horizon_hours(self) -> float:
        return self.slots * SLOT_HOURS

    def import_kw(self, slot: int) -> float:
        return self.import_limit_kw[slot] if self.import_limit_kw else self.grid_limit_kw

    def export_kw(self, slot: int) -> float:
        return self.export_limit_kw[slot] if self.export_limit_kw else self.grid_limit_kw


def build_problem(request: PlanRequest) -> Problem:
    """Validate, fill in forecasts and normalise. Raises PlannerInputError on bad input."""
    validate(request)
    forecasts = resolve(request)
    warnings = list(forecasts.warnings)
    ev = _ev_spec(request, warnings)
    loads = tuple(
        spec for load in request.loads if (spec := _load_spec(request, load, warnings)) is not None
    )
    return Problem(
        start=request.start,
        slots=request.slots,
        forecasts=forecasts,
        grid_limit_kw=request.site.grid_limit_w / 1000,
        battery=request.battery,
        ev=ev,
        loads=loads,
        strategy=request.strategy,
        warnings=tuple(warnings),
        import_limit_kw=_limits(request, "import_w"),
        export_limit_kw=_limits(request, "export_w"),
        end=end_spec(request, forecasts),
    )


def _limits(request: PlanRequest, way: str) -> tuple[float, ...]:
    """Per slot, the site's connection limit lowered by the grid operator's (kW)."""
    site = request.site.grid_limit_w / 1000
    limits = list(request.grid_limits)[: request.slots]
    limits += [None] * (request.slots - len(limits))
    return tuple(
        site
        if (w := None if limit is None else getattr(limit, way)) is None
        else min(site, w / 1000)
        for limit in limits
    )


def _slot_index(request: PlanRequest, when: datetime, *, up: bool) -> int:
    exact = (when - request.start) / SLOT
    index = math.ceil(exact - 1e-9) if up else math.floor(exact + 1e-9)
    return min(max(index, 0), request.slots)


def _ev_spec(request: PlanRequest, warnings: list[str]) -> EVSpec | None:
    ev = request.ev
    if ev is None or not ev.plugged_in:
        return None
    if ev.departure <= request.start:
        warnings.append("EV departure is in the past: not planning EV charging")
        return None
    deadline = _slot_index(request, ev.departure, up=False)
    opens = request.start if ev.earliest_start is None else max(ev.earliest_start, request.start)
    first = min(_slot_index(request, opens, up=True), deadline)
    max_kw = ev.max_charge_w / 1000
    gain_per_slot = max_kw * ev.charge_efficiency * SLOT_HOURS
    target = ev.target_wh / 1000
    # Past the horizon the charger can still add energy before departure; only ask for the rest.
    horizon_end = request.start + request.slots * SLOT
    after_horizon = max((ev.departure - max(horizon_end, opens)) / SLOT, 0.0)
    required = max(target - gain_per_slot * after_horizon, 0.0)
    reachable = min(ev.soc_wh / 1000 + gain_per_slot * (deadline - first), ev.capacity_wh / 1000)
    return EVSpec(
        capacity_kwh=ev.capacity_wh / 1000,
        soc_kwh=ev.soc_wh / 1000,
        required_kwh=required,
        deadline=deadline,
        first=first,
        max_kw=max_kw,
        min_kw=ev.min_charge_w / 1000,
        efficiency=ev.charge_efficiency,
        reachable_kwh=reachable,
    )


def _load_spec(request: PlanRequest, load: DeferrableLoad, warnings: list[str]) -> LoadSpec | None:
    energy = load_energy_wh(load) / 1000
    kw = load.power_w / 1000
    run_slots = max(math.ceil(energy / (kw * SLOT_HOURS) - 1e-9), 1)
    # The window is widened to whole slots: the schedule's granularity is 15 minutes.
    first = 0 if load.running else _slot_index(request, load.earliest_start, up=False)
    end = _slot_index(request, load.latest_finish, up=True)
    if load.running and not load.interruptible:
        end = max(end, min(run_slots, request.slots))
    needed = run_slots if not load.interruptible else energy / (kw * SLOT_HOURS)
    if end - first < needed - 1e-9:
        if load.latest_finish <= request.start:
            raise PlannerInputError(f"loads[{load.id}].latest_finish", "window already closed")
        # Validation guarantees the window fits, so it must run past the horizon's end.
        warnings.append(f"load {load.id}: window reaches past the horizon; planned later")
        return None
    return LoadSpec(
        id=load.id,
        kw=kw,
        energy_kwh=energy,
        first=first,
        end=end,
        run_slots=run_slots,
        interruptible=load.interruptible,
        discomfort_per_hour=load.discomfort_per_hour,
        optional=load.optional,
        skip_cost=load.skip_cost,
        running=load.running,
    )
