"""A home's bid for one interval, derived cheaply from its plan (no what-if solves).

The planner's own bids come from reservation prices found by re-solving the plan with each asset
pinned (gridcoop_home.planner.reservation): 0.1-1 s per home and interval, far beyond a 200-home
month.
Here the reservation prices are estimated from the plan's expected prices instead, and the real
`gridcoop_home.planner.bidding.build_bids` turns them into curves, so the curves keep its
guarantees:
monotone, not crossing, and clearing exactly the plan's slot at the expected price.

Estimates (p = the plan's expected price per slot, the next 24 h):
- battery: buys below what a stored kWh is worth at the day's dearest price (x round-trip
  efficiency, less wear); sells above what refilling at the day's cheapest price costs.
- EV: the price of the dearest slot it would otherwise need before departure (the k-th cheapest
  of the remaining slots, k = slots needed); must-charge energy bids at retail.
- appliance that has not started: the best later start's cost (energy at p plus discomfort for
  the extra delay) less what starting now commits beyond this slot, per kWh of this slot;
  interruptible ones like the EV. Running or late appliances bid at retail.
"""

from __future__ import annotations

import math

import numpy as np
from gridcoop_home.planner.bidding import build_bids
from gridcoop_home.planner.reservation import Reservation
from gridcoop_home.protocol.bids import BidCurves, BidStep

from hub.sim.appliances import Job
from hub.sim.config import SLOTS_PER_DAY
from hub.sim.devices import (
    BATTERY_EFFICIENCY,
    EV_EFFICIENCY,
    DeviceState,
    HomeInputs,
    active_jobs,
    ev_need_wh,
    ev_slot_wh,
    forced_job_wh,
    plugged_session,
)
from hub.sim.planning import PlanRef
from hub.sim.population import HomeSpec

MUST = math.inf


def bid_for(
    home: HomeSpec,
    inputs: HomeInputs,
    state: DeviceState,
    slot: int,
    ref: PlanRef,
    retail: float,
    feed_in: float,
) -> BidCurves:
    i = ref.at(slot)
    prices = ref.prices_from(slot, SLOTS_PER_DAY + 1)
    found: list[Reservation] = []
    planned_wh = 0.0
    for reservation in _battery(home, state, ref, i, prices):
        found.append(reservation)
        sign = 1 if reservation.side == "buy" else -1
        planned_wh += sign * reservation.planned_kwh * 1000
    for reservation in [
        *_ev(home, inputs, state, slot, ref, i, prices),
        *_jobs(inputs, state, slot, ref, i, prices),
    ]:
        found.append(reservation)
        planned_wh += reservation.planned_kwh * 1000
    net_wh = round((inputs.base_forecast_w[slot] - inputs.pv_forecast_w[slot]) / 4 + planned_wh)
    curves = build_bids(
        found,
        net_wh,
        float(prices[0]),
        feed_in=feed_in,
        retail=retail,
        pv_wh=round(inputs.pv_forecast_w[slot] / 4),
    )
    if not curves.buy and not curves.sell:
        # A bid needs a step; 1 Wh at retail keeps the home in the interval's settlement.
        return BidCurves(buy=(BidStep(math.ceil(retail), 1, "base"),), sell=())
    return curves


def _battery(
    home: HomeSpec, state: DeviceState, ref: PlanRef, i: int, prices: np.ndarray
) -> list[Reservation]:
    battery = home.battery
    if battery is None:
        return []
    eta = BATTERY_EFFICIENCY
    wear = battery.wear_per_kwh
    most_in = max(min(battery.power_w / 4, (battery.capacity_wh - state.battery_soc_wh) / eta), 0)
    most_out = max(min(battery.power_w / 4, state.battery_soc_wh * eta), 0)
    plan_in = float(ref.charge_w[i]) / 4 if i >= 0 else 0.0
    plan_out = float(ref.discharge_w[i]) / 4 if i >= 0 else 0.0
    future = prices[1:]
    found = []
    if most_in >= 1:
        price = eta * eta * float(future.max()) - wear
        found.append(
            Reservation("battery", "buy", price, most_in / 1000, min(plan_in, most_in) / 1000)
        )
    if most_out >= 1:
        price = float(future.min()) / (eta * eta) + wear
        found.append(
            Reservation("battery", "sell", price, most_out / 1000, min(plan_out, most_out) / 1000)
        )
    return found


def _ev(
    home: HomeSpec,
    inputs: HomeInputs,
    state: DeviceState,
    slot: int,
    ref: PlanRef,
    i: int,
    prices: np.ndarray,
) -> list[Reservation]:
    session = plugged_session(inputs, slot)
    need = ev_need_wh(home, state)
    per_slot = ev_slot_wh(home)
    room = (home.ev.capacity_wh - state.ev_soc_wh) / EV_EFFICIENCY if home.ev else 0.0
    most = min(per_slot, need, room)
    if session is None or most < 1:
        return []
    planned = min(float(ref.ev_w[i]) / 4 if i >= 0 else 0.0, most)
    later = prices[1 : session.depart - slot]
    slots_needed = math.ceil(need / per_slot - 1e-9)
    if slots_needed > len(later):
        return [Reservation("ev", "buy", MUST, most / 1000, most / 1000)]
    price = float(np.sort(later)[slots_needed - 1])
    return [Reservation("ev", "buy", price, most / 1000, planned / 1000)]


def _jobs(
    inputs: HomeInputs, state: DeviceState, slot: int, ref: PlanRef, i: int, prices: np.ndarray
) -> list[Reservation]:
    found = []
    for job in active_jobs(inputs, state, slot):
        remaining = job.energy_wh - state.done_wh.get(job.id, 0.0)
        energy = min(job.slot_wh, remaining)
        planned_w = ref.jobs_w.get(job.id)
        planned = float(planned_w[i]) / 4 if planned_w is not None and i >= 0 else 0.0
        forced = forced_job_wh(job, state, slot)
        asset = f"load:{job.id}"
        if forced > 0:
            found.append(Reservation(asset, "buy", MUST, forced / 1000, forced / 1000))
            continue
        planned = energy if planned > 1 else 0.0
        price = _job_price(job, remaining, slot, prices)
        found.append(Reservation(asset, "buy", price, energy / 1000, planned / 1000))
    return found


def _job_price(job: Job, remaining: float, slot: int, prices: np.ndarray) -> float:
    """Per kWh of this slot: what waiting costs (best later start) against starting now."""
    horizon = min(job.latest, slot + len(prices)) - slot
    p = prices[:horizon]
    kwh = job.slot_wh / 1000
    if job.interruptible:
        later = np.sort(p[1:])
        needed = math.ceil(remaining / job.slot_wh - 1e-9)
        return float(later[needed - 1]) if 0 < needed <= len(later) else MUST
    n = math.ceil(remaining / job.slot_wh - 1e-9)
    run = np.convolve(p, np.ones(n), mode="valid") * kwh  # cost of a run starting at each slot
    if len(run) < 2:
        return MUST
    delay = np.arange(len(run)) * 0.25 * job.discomfort_per_hour
    best_later = float((run + delay)[1:].min())
    committed = float(run[0]) - float(p[0]) * kwh  # the rest of a run started now
    return (best_later - committed) / kwh
