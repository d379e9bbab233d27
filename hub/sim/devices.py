"""One home's physics for one slot: what its devices do and what its grid meter sees (whole Wh).

Every world uses this same function; worlds differ only in the command they give. A command says
how much energy each flexible device should take, and which net grid flow the home aims for: the
battery (if any) makes up the difference between that target and what the rest of the home
actually does, within its power and state of charge. That is a home battery's ordinary real-time
control: with a target of zero it is plain self-consumption.

Safety nets, the same in every world: a non-interruptible appliance that has started runs to the
end; an appliance or EV that would otherwise miss its deadline runs now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hub.sim.appliances import EV_TARGET_SHARE, EVSession, Job
from hub.sim.population import HomeSpec

BATTERY_EFFICIENCY = 0.95  # each way (the planner's default)
EV_EFFICIENCY = 0.9


@dataclass(slots=True)
class HomeInputs:
    """Everything that happens to a home whatever it decides (arrays per slot)."""

    base_forecast_w: np.ndarray
    base_w: np.ndarray
    pv_forecast_w: np.ndarray
    pv_w: np.ndarray
    jobs: list[Job]
    sessions: list[EVSession]


@dataclass(slots=True)
class DeviceState:
    battery_soc_wh: float
    ev_soc_wh: float
    done_wh: dict[str, float] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    session: int = -1  # index of the EV session that last arrived

    @classmethod
    def initial(cls, home: HomeSpec) -> DeviceState:
        battery = home.battery.capacity_wh / 2 if home.battery else 0.0
        ev = home.ev.capacity_wh * EV_TARGET_SHARE if home.ev else 0.0
        return cls(battery, ev)


@dataclass(frozen=True, slots=True)
class Command:
    target_net_wh: float  # grid import minus export the home aims for (the battery tracks it)
    ev_wh: float = 0.0
    jobs_wh: dict[str, float] = field(default_factory=dict)
    # (charge, discharge) Wh a plan intends for the battery this slot. When given, the battery
    # tracks the target only as far as that takes no energy the wrong way: it discharges at
    # most the home's own deficit (or the planned discharge) and charges at most the home's own
    # surplus (or the planned charge). Without it (a market allocation, a commitment settled
    # at retail or feed-in when missed) the battery tracks the target within its limits.
    planned_battery_wh: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Flows:
    base_wh: int
    pv_wh: int
    loads_wh: int
    ev_wh: int
    charge_wh: int
    discharge_wh: int

    @property
    def net_wh(self) -> int:
        return (
            self.base_wh
            + self.loads_wh
            + self.ev_wh
            + self.charge_wh
            - self.pv_wh
            - self.discharge_wh
        )

    @property
    def import_wh(self) -> int:
        return max(self.net_wh, 0)

    @property
    def export_wh(self) -> int:
        return max(-self.net_wh, 0)


def active_jobs(inputs: HomeInputs, state: DeviceState, slot: int) -> list[Job]:
    """Jobs whose window is open at `slot` and that still have energy to run."""
    return [
        job
        for job in inputs.jobs
        if job.earliest <= slot < job.latest and state.done_wh.get(job.id, 0.0) < job.energy_wh - 1
    ]


def forced_job_wh(job: Job, state: DeviceState, slot: int) -> float:
    """Energy the job must take now: it is running, or waiting longer would miss its deadline."""
    remaining = job.energy_wh - state.done_wh.get(job.id, 0.0)
    if not job.interruptible:
        must = job.id in state.running or slot >= job.latest - job.run_slots
        return min(job.slot_wh, remaining) if must else 0.0
    return max(0.0, min(job.slot_wh, remaining - (job.latest - slot - 1) * job.slot_wh))


def plugged_session(inputs: HomeInputs, slot: int) -> EVSession | None:
    for session in inputs.sessions:
        if session.arrive <= slot < session.depart:
            return session
    return None


def ev_need_wh(home: HomeSpec, state: DeviceState) -> float:
    """Energy at the meter still needed to reach the departure target."""
    if home.ev is None:
        return 0.0
    return max(home.ev.capacity_wh * EV_TARGET_SHARE - state.ev_soc_wh, 0.0) / EV_EFFICIENCY


def ev_slot_wh(home: HomeSpec) -> float:
    return home.ev.charger_w / 4 if home.ev else 0.0


def arrive_ev(inputs: HomeInputs, home: HomeSpec, state: DeviceState, slot: int) -> bool:
    """Start of a session: the car comes back with what driving left. True when it arrived now."""
    for index, session in enumerate(inputs.sessions):
        if session.arrive == slot and index != state.session and home.ev is not None:
            state.session = index
            state.ev_soc_wh = max(state.ev_soc_wh - session.drive_wh, 0.1 * home.ev.capacity_wh)
            return True
    return False


def step(
    home: HomeSpec, inputs: HomeInputs, state: DeviceState, slot: int, command: Command
) -> Flows:
    """Run one slot: devices follow the command within their limits; updates `state`."""
    base = round(inputs.base_w[slot] / 4)
    pv = round(inputs.pv_w[slot] / 4)
    loads = 0
    for job in active_jobs(inputs, state, slot):
        remaining = job.energy_wh - state.done_wh.get(job.id, 0.0)
        wanted = max(command.jobs_wh.get(job.id, 0.0), forced_job_wh(job, state, slot))
        energy = round(min(wanted, remaining, job.slot_wh))
        if energy > 0:
            loads += energy
            state.done_wh[job.id] = state.done_wh.get(job.id, 0.0) + energy
            if not job.interruptible:
                state.running.add(job.id)
            if state.done_wh[job.id] >= job.energy_wh - 1:
                state.running.discard(job.id)
    ev = _ev_energy(home, inputs, state, slot, command.ev_wh)
    demand = base + loads + ev - pv  # net grid flow without the battery
    wanted = command.target_net_wh - demand
    if command.planned_battery_wh is not None:
        planned_charge, planned_discharge = command.planned_battery_wh
        wanted = min(
            max(wanted, -max(demand, planned_discharge, 0)), max(-demand, planned_charge, 0)
        )
    charge, discharge = _battery(home, state, wanted)
    return Flows(base, pv, loads, ev, charge, discharge)


def _ev_energy(
    home: HomeSpec, inputs: HomeInputs, state: DeviceState, slot: int, wanted: float
) -> int:
    session = plugged_session(inputs, slot)
    if session is None or home.ev is None:
        return 0
    need = ev_need_wh(home, state)
    room = (home.ev.capacity_wh - state.ev_soc_wh) / EV_EFFICIENCY
    forced = max(0.0, need - (session.depart - slot - 1) * ev_slot_wh(home))
    energy = round(max(0.0, min(max(wanted, forced), ev_slot_wh(home), room)))
    state.ev_soc_wh += energy * EV_EFFICIENCY
    return energy


def _battery(home: HomeSpec, state: DeviceState, wanted_wh: float) -> tuple[int, int]:
    """Charge (wanted > 0) or discharge within power and state of charge."""
    battery = home.battery
    if battery is None:
        return 0, 0
    most = battery.power_w / 4
    if wanted_wh > 0:
        room = (battery.capacity_wh - state.battery_soc_wh) / BATTERY_EFFICIENCY
        charge = round(max(0.0, min(wanted_wh, most, room)))
        state.battery_soc_wh += charge * BATTERY_EFFICIENCY
        return charge, 0
    available = state.battery_soc_wh * BATTERY_EFFICIENCY
    discharge = round(max(0.0, min(-wanted_wh, most, available)))
    state.battery_soc_wh = max(state.battery_soc_wh - discharge / BATTERY_EFFICIENCY, 0.0)
    return 0, discharge
