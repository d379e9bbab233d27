"""What each world tells a home's devices in a slot (the physics is hub.sim.devices.step).

A, fixed tariff without planning: appliances start as soon as their window opens, the EV charges
at full power from arrival, a battery does self-consumption (target grid flow zero).
B, planner alone (island): devices follow the day's plan; the battery tracks the plan's grid flow,
absorbing forecast errors, but never sells stored energy or buys grid energy the plan did not
intend (what an energy manager following a plan does when a cloud passes).
C, planner and market: devices follow the hub's dispatch commands; the battery tracks the home's
allocation (energy bought minus sold).
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.sim.devices import Command, DeviceState, HomeInputs, active_jobs, ev_need_wh
from hub.sim.planning import PlanRef
from hub.sim.population import HomeSpec

WORLDS = ("A", "B", "C")


def command_a(home: HomeSpec, inputs: HomeInputs, state: DeviceState, slot: int) -> Command:
    jobs = {job.id: job.slot_wh for job in active_jobs(inputs, state, slot)}
    return Command(target_net_wh=0.0, ev_wh=ev_need_wh(home, state), jobs_wh=jobs)


def command_b(ref: PlanRef, slot: int) -> Command:
    i = ref.at(slot)
    if i < 0:
        return Command(target_net_wh=0.0)
    return Command(
        target_net_wh=float(ref.grid_w[i]) / 4,
        ev_wh=float(ref.ev_w[i]) / 4,
        jobs_wh={job: float(watts[i]) / 4 for job, watts in ref.jobs_w.items()},
        planned_battery_wh=(float(ref.charge_w[i]) / 4, float(ref.discharge_w[i]) / 4),
    )


def command_c(net_allocated_wh: int, dispatch: Sequence[tuple[str, str, int]]) -> Command:
    """From the allocation and its dispatch commands: (device, action, energy_wh)."""
    ev = 0.0
    jobs: dict[str, float] = {}
    for device, action, energy in dispatch:
        if device == "ev" and action == "charge":
            ev = float(energy)
        elif device.startswith("load:") and action == "start":
            jobs[device.removeprefix("load:")] = float(energy)
    return Command(target_net_wh=float(net_allocated_wh), ev_wh=ev, jobs_wh=jobs)
