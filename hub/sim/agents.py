"""One simulated home in each world: state, re-planning, and what it records slot by slot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from gridcoop_home.client.hub import Meter
from gridcoop_home.protocol.bids import BidCurves
from gridcoop_home.protocol.envelope import SignedMessage

from hub.sim.bidding import bid_for
from hub.sim.calendar import Calendar
from hub.sim.config import SLOTS_PER_DAY
from hub.sim.devices import DeviceState, Flows, HomeInputs, arrive_ev, step
from hub.sim.keys import sim_key
from hub.sim.planning import PlanRef, make_request, replan_phase, solve
from hub.sim.population import HomeSpec
from hub.sim.worlds import command_a, command_b, command_c

FIELDS = (
    "import_wh",
    "export_wh",
    "pv_wh",
    "charge_wh",
    "discharge_wh",
    "ev_wh",
    "loads_wh",
    "base_wh",
)


@dataclass(slots=True)
class Track:
    """Per-slot flows of one home in one world (whole Wh)."""

    data: np.ndarray  # shape (len(FIELDS), slots), int64

    @classmethod
    def new(cls, slots: int) -> Track:
        return cls(np.zeros((len(FIELDS), slots), dtype=np.int64))

    def record(self, slot: int, flows: Flows) -> None:
        self.data[:, slot] = (
            flows.import_wh,
            flows.export_wh,
            flows.pv_wh,
            flows.charge_wh,
            flows.discharge_wh,
            flows.ev_wh,
            flows.loads_wh,
            flows.base_wh,
        )


@dataclass(slots=True)
class Shared:
    """What every home in a process sees alike."""

    calendar: Calendar
    retail: np.ndarray
    feed_in: np.ndarray
    horizon: int
    seed: int


class IslandHome:
    """Worlds A (no planning) and B (the planner against the tariffs), run a day at a time."""

    def __init__(self, home: HomeSpec, inputs: HomeInputs, shared: Shared, world: str) -> None:
        self.home, self.inputs, self.shared, self.world = home, inputs, shared, world
        self.state = DeviceState.initial(home)
        self.track = Track.new(shared.calendar.slots)
        self.ref: PlanRef | None = None
        self.plans = 0

    def run_day(self, day: int) -> None:
        for slot in range(day * SLOTS_PER_DAY, (day + 1) * SLOTS_PER_DAY):
            self.run_slot(slot)

    def run_slot(self, slot: int) -> None:
        """Play one slot; slots must come in order."""
        arrived = arrive_ev(self.inputs, self.home, self.state, slot)
        if self.world == "A":
            command = command_a(self.home, self.inputs, self.state, slot)
        else:
            if self.ref is None or arrived or slot % SLOTS_PER_DAY == replan_phase(self.home.index):
                self.ref = _plan(self.home, self.inputs, self.state, slot, self.shared, None)
                self.plans += 1
            command = command_b(self.ref, slot)
        self.track.record(slot, step(self.home, self.inputs, self.state, slot, command))


class MarketHome:
    """World C: plans against the local price, bids every interval, follows the hub's dispatch
    and signs its meters' readings."""

    def __init__(self, home: HomeSpec, inputs: HomeInputs, shared: Shared) -> None:
        self.home, self.inputs, self.shared = home, inputs, shared
        self.state = DeviceState.initial(home)
        self.track = Track.new(shared.calendar.slots)
        self.ref: PlanRef | None = None
        self.plans = 0
        self.meters = {
            kind: Meter(kind, kind, sim_key(shared.seed, home.index, kind))
            for kind in home.meter_kinds
        }
        self.registers = {kind: [0, 0] for kind in home.meter_kinds}
        self.ev_charged_wh = 0  # in the current EV session

    def bid(self, slot: int, prices: list[tuple[datetime, float]]) -> BidCurves:
        arrived = arrive_ev(self.inputs, self.home, self.state, slot)
        if arrived:
            self.ev_charged_wh = 0
        due = slot % SLOTS_PER_DAY == replan_phase(self.home.index)
        if self.ref is None or arrived or due:
            self.ref = _plan(self.home, self.inputs, self.state, slot, self.shared, prices)
            self.plans += 1
        retail = float(self.shared.retail[slot])
        feed_in = float(self.shared.feed_in[slot])
        return bid_for(self.home, self.inputs, self.state, slot, self.ref, retail, feed_in)

    def deliver(
        self, slot: int, net_allocated_wh: int, dispatch: list[tuple[str, str, int]]
    ) -> Flows:
        flows = step(
            self.home, self.inputs, self.state, slot, command_c(net_allocated_wh, dispatch)
        )
        self.track.record(slot, flows)
        self.ev_charged_wh += flows.ev_wh
        for kind, (add_in, add_out) in (
            ("grid", (flows.import_wh, flows.export_wh)),
            ("pv", (0, flows.pv_wh)),
            ("battery", (flows.charge_wh, flows.discharge_wh)),
            ("ev", (flows.ev_wh, 0)),
        ):
            if kind in self.registers:
                self.registers[kind][0] += add_in
                self.registers[kind][1] += add_out
        return flows

    def readings(self, ts_ms: int) -> list[SignedMessage]:
        """One signed reading per meter (cumulative registers)."""
        return [
            self.meters[kind].reading(registers[0], registers[1], ts_ms=ts_ms)
            for kind, registers in self.registers.items()
        ]

    def ev_session_ended(self, slot: int) -> int | None:
        """The energy charged in a session that ends at `slot` (None when none ends)."""
        for session in self.inputs.sessions:
            if session.depart == slot:
                return self.ev_charged_wh
        return None


def _plan(
    home: HomeSpec,
    inputs: HomeInputs,
    state: DeviceState,
    slot: int,
    shared: Shared,
    prices: list[tuple[datetime, float]] | None,
) -> PlanRef:
    request = make_request(
        home,
        inputs,
        state,
        slot,
        shared.calendar,
        shared.retail,
        shared.feed_in,
        shared.horizon,
        prices,
    )
    return solve(request, slot)
