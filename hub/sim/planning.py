"""The real planner (gridcoop_home.planner.plan) for one home: the request from its state, the plan
kept.

Each home plans once a day at its own time of day (homes are spread over the day, so the work
is too) and again when its EV arrives, 24 h ahead, with `market_outputs=False`: the schedule
only, no what-if solves (bids are derived from the schedule, see hub.sim.bidding). World B plans
in island mode against the tariffs; world C against the expected local price, which the planner
derives itself from the clearing prices of the last 7 days (History.clearing_prices).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from gridcoop_home.planner import (
    EV,
    Battery,
    DeferrableLoad,
    History,
    PlanRequest,
    Site,
    Tariffs,
    plan,
)

from hub.sim.appliances import EV_TARGET_SHARE
from hub.sim.calendar import Calendar
from hub.sim.config import SLOTS_PER_DAY
from hub.sim.devices import (
    BATTERY_EFFICIENCY,
    EV_EFFICIENCY,
    DeviceState,
    HomeInputs,
    plugged_session,
)
from hub.sim.population import HomeSpec, grid_limit_w


@dataclass(frozen=True, slots=True)
class PlanRef:
    """A solved plan, indexed from slot `start` (W per slot)."""

    start: int
    charge_w: np.ndarray
    discharge_w: np.ndarray
    ev_w: np.ndarray
    jobs_w: dict[str, np.ndarray]
    grid_w: np.ndarray  # import minus export
    price: np.ndarray  # the expected price per slot the plan used
    # prices_from for every offset a plan is asked about until the next plan, computed once
    # (read-only: prices_from hands out slices of it).
    price_ahead: np.ndarray

    def at(self, slot: int) -> int:
        """Index into the plan's arrays; -1 past its horizon."""
        offset = slot - self.start
        return offset if 0 <= offset < len(self.grid_w) else -1

    def prices_from(self, slot: int, count: int) -> np.ndarray:
        """Expected prices for `count` slots from `slot` (read-only); past the horizon, the same
        time of day on the plan's last day."""
        first = slot - self.start
        if first >= 0 and first + count <= len(self.price_ahead):
            return self.price_ahead[first : first + count]
        prices: np.ndarray = self.price[_offsets(len(self.price), first, count)]
        return prices


def _offsets(length: int, first: int, count: int) -> np.ndarray:
    """Indices into a plan's `length` slots for `count` slots from offset `first`: past the
    horizon, the same time of day on its last day."""
    offsets = np.arange(first, first + count)
    past = offsets >= length
    offsets[past] -= SLOTS_PER_DAY * ((offsets[past] - length) // SLOTS_PER_DAY + 1)
    return np.clip(offsets, 0, length - 1)


def prices_ahead(price: np.ndarray) -> np.ndarray:
    """What prices_from returns for offsets 0 to a day past the horizon: a plan is replaced
    within a day, and bids look a day ahead."""
    ahead: np.ndarray = price[_offsets(len(price), 0, len(price) + SLOTS_PER_DAY + 1)]
    ahead.flags.writeable = False
    return ahead


def replan_phase(index: int) -> int:
    """The slot of the day at which home `index` plans (spread over the day)."""
    return (index * 37) % SLOTS_PER_DAY


def make_request(
    home: HomeSpec,
    inputs: HomeInputs,
    state: DeviceState,
    slot: int,
    calendar: Calendar,
    retail: np.ndarray,
    feed_in: np.ndarray,
    horizon: int,
    prices: list[tuple[datetime, float]] | None,
) -> PlanRequest:
    """`prices` None: island (world B); otherwise the clearing-price history (world C)."""
    end = min(slot + horizon, calendar.total)
    span = slice(slot, end)
    start = calendar.time_of(slot)
    return PlanRequest(
        start=start,
        slots=end - slot,
        site=Site(grid_limit_w=grid_limit_w(home), pv_peak_w=home.pv_peak_w),
        tariffs=Tariffs(retail=retail[span].tolist(), feed_in=feed_in[span].tolist()),
        pv_forecast_w=inputs.pv_forecast_w[span].tolist(),
        base_load_forecast_w=inputs.base_forecast_w[span].tolist(),
        battery=_battery(home, state),
        ev=_ev(home, inputs, state, slot, calendar),
        loads=_loads(inputs, state, slot, end, calendar),
        history=History(clearing_prices=tuple(prices or ())),
        island=prices is None,
        market_outputs=False,
    )


def solve(request: PlanRequest, slot: int) -> PlanRef:
    result = plan(request)
    schedule = result.schedule
    price = (np.asarray(schedule.buy_price) + np.asarray(schedule.sell_price)) / 2
    return PlanRef(
        start=slot,
        charge_w=np.asarray(schedule.battery_charge_w),
        discharge_w=np.asarray(schedule.battery_discharge_w),
        ev_w=np.asarray(schedule.ev_charge_w),
        jobs_w={job: np.asarray(watts) for job, watts in schedule.loads_w.items()},
        grid_w=np.asarray(schedule.grid_import_w) - np.asarray(schedule.grid_export_w),
        price=price,
        price_ahead=prices_ahead(price),
    )


def _battery(home: HomeSpec, state: DeviceState) -> Battery | None:
    if home.battery is None:
        return None
    return Battery(
        capacity_wh=home.battery.capacity_wh,
        max_charge_w=home.battery.power_w,
        max_discharge_w=home.battery.power_w,
        soc_wh=min(state.battery_soc_wh, home.battery.capacity_wh),
        charge_efficiency=BATTERY_EFFICIENCY,
        discharge_efficiency=BATTERY_EFFICIENCY,
        degradation_cost=home.battery.wear_per_kwh,
    )


def _ev(
    home: HomeSpec, inputs: HomeInputs, state: DeviceState, slot: int, calendar: Calendar
) -> EV | None:
    session = plugged_session(inputs, slot)
    if home.ev is None or session is None:
        return None
    return EV(
        capacity_wh=home.ev.capacity_wh,
        soc_wh=min(state.ev_soc_wh, home.ev.capacity_wh),
        target_wh=home.ev.capacity_wh * EV_TARGET_SHARE,
        departure=calendar.time_of(session.depart),
        max_charge_w=home.ev.charger_w,
        charge_efficiency=EV_EFFICIENCY,
    )


def _loads(
    inputs: HomeInputs, state: DeviceState, slot: int, end: int, calendar: Calendar
) -> tuple[DeferrableLoad, ...]:
    loads = []
    for job in inputs.jobs:
        remaining = job.energy_wh - state.done_wh.get(job.id, 0.0)
        if job.latest <= slot or job.earliest >= end or remaining < 1:
            continue
        running = job.id in state.running
        slots_needed = -(-remaining // job.slot_wh)
        # A household running late still runs its appliance: the window stretches to fit.
        latest = max(job.latest, slot + int(slots_needed))
        loads.append(
            DeferrableLoad(
                id=job.id,
                power_w=job.power_w,
                earliest_start=calendar.time_of(max(job.earliest, slot)),
                latest_finish=calendar.time_of(latest),
                energy_wh=remaining,
                interruptible=job.interruptible,
                discomfort_per_hour=job.discomfort_per_hour,
                running=running,
            )
        )
    return tuple(loads)
