"""Reservation prices: what the next slot's energy for one asset is worth to the household.

Method (see docs/planner.md): solve the model twice with the asset's first-slot action
pinned. "Now": the asset runs at the most it can in slot 0, and that slot-0 energy is taken out of
the home's balance, as if bought (or sold) separately on the market. "Not now": the asset is idle
in slot 0 and everything else re-optimises. For a consuming asset the reservation price is
    (objective_not_now - objective_now) / slot-0 energy,
the highest price per kWh worth paying to run it now instead of later; for the battery's discharge
it is the reverse difference, the lowest price per kWh worth selling at. Because the slot-0 energy
sits outside the balance, the difference is the same whatever the slot-0 price turns out to be:
the plan runs the asset now exactly when the slot-0 price is below its reservation price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gridcoop_home.planner.inputs import SLOT_HOURS
from gridcoop_home.planner.model import Slot0Fix, Solution, solve
from gridcoop_home.planner.problem import Problem

IDLE_KW = 1e-6


@dataclass(frozen=True, slots=True)
class Reservation:
    asset: str  # bid asset tag: "battery", "ev" or "load:<id>"
    side: Literal["buy", "sell"]
    price: float  # minor units per kWh; +inf for energy that must flow now
    most_kwh: float  # the most it can move in slot 0
    planned_kwh: float  # what the plan moves in slot 0


@dataclass
class Pricer:
    """Prices the flexible assets of one problem around its optimal plan `base`."""

    problem: Problem
    base: Solution
    solves: int = 0

    def all(self) -> list[Reservation]:
        found: list[Reservation] = []
        if self.problem.battery is not None:
            # Both measured from an idle battery (model.py): the plan is "not now" only when
            # it leaves the battery idle in slot 0.
            idle = self.base.charge[0] <= IDLE_KW and self.base.discharge[0] <= IDLE_KW
            found += self._priced("battery_charge", "battery", "buy", self.base.charge, idle)
            found += self._priced("battery_discharge", "battery", "sell", self.base.discharge, idle)
        if self.problem.ev is not None:
            found += self._priced("ev", "ev", "buy", self.base.ev)
        for load in self.problem.loads:
            power = self.base.loads[load.id]
            if load.running and not load.interruptible:
                # Already started and cannot pause: its energy now is not a choice.
                energy = power[0] * SLOT_HOURS
                found.append(Reservation(f"load:{load.id}", "buy", float("inf"), energy, energy))
            elif load.first == 0:
                found += self._priced(f"load:{load.id}", f"load:{load.id}", "buy", power)
        return found

    def _priced(
        self,
        fix: str,
        asset: str,
        side: Literal["buy", "sell"],
        planned: tuple[float, ...],
        base_is_not_now: bool | None = None,
    ) -> list[Reservation]:
        now = self._solve(Slot0Fix(fix, run=True, external=True))
        most = now.slot0_external_kwh
        if most <= IDLE_KW:
            return []
        # The optimal plan already is the best "not now" plan when it leaves the asset idle.
        reuse = planned[0] <= IDLE_KW if base_is_not_now is None else base_is_not_now
        not_now = self.base if reuse else self._solve(Slot0Fix(fix, run=False))
        gain = not_now.objective - now.objective
        price = gain / most if side == "buy" else -gain / most
        return [Reservation(asset, side, price, most, planned[0] * SLOT_HOURS)]

    def _solve(self, fix: Slot0Fix) -> Solution:
        self.solves += 1
        return solve(self.problem, [fix])
