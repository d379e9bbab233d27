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

Energy the plan must take now is not a choice: an EV that cannot reach its target without some
charge in slot 0, or a battery below its reserve. That part (what "not now" leaves short) is
priced +inf, bought whatever the price; only the rest is priced, measured from the must instead
of from idle. Averaged over the whole slot, a few must-have Wh would hide in a low price and a
cheap neighbour's offer could pause the EV that misses its departure target.
"""

from __future__ import annotations

import math
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
        planned_kwh = planned[0] * SLOT_HOURS
        must = self._must_kwh(fix, now, not_now, most)
        if must >= most - IDLE_KW:
            return [Reservation(asset, side, math.inf, most, planned_kwh)]
        if must > IDLE_KW:
            # Only the energy beyond the must is a choice: price it from the must, not from idle
            # (an average over the whole slot would let the must be bid below its worth).
            not_now = self._solve(Slot0Fix(fix, run=True, external=True, kw=must / SLOT_HOURS))
        gain = not_now.objective - now.objective
        optional = most - must
        price = gain / optional if side == "buy" else -gain / optional
        found = [Reservation(asset, side, price, optional, max(planned_kwh - must, 0.0))]
        if must > IDLE_KW:
            found.insert(0, Reservation(asset, side, math.inf, must, min(planned_kwh, must)))
        return found

    def _must_kwh(self, fix: str, now: Solution, not_now: Solution, most: float) -> float:
        """The slot-0 energy (kWh at the meter) without which a soft limit gives way: the EV's
        target or the battery's reserve falls short by more than when the asset runs now at its
        most. Those penalties are worth far more than any retail price, so this energy is bought
        whatever the price (the grid serves it at retail)."""
        if fix == "ev" and (ev := self.problem.ev) is not None:
            missing = (not_now.ev_short - now.ev_short) / ev.efficiency
            # A charger with a minimum power cannot deliver less than that once it runs.
            least = ev.min_kw * SLOT_HOURS if missing > IDLE_KW else 0.0
            return min(max(missing, least, 0.0), most)
        if fix == "battery_charge" and (battery := self.problem.battery) is not None:
            # Later slots can restore the reserve for later slots: only slot 0's own falls short.
            # The end-of-horizon target falls short when later slots cannot charge enough.
            short = not_now.reserve_short[0] - now.reserve_short[0]
            short += not_now.end_short - now.end_short
            missing = short / battery.charge_efficiency
            return min(max(missing, 0.0), most)
        return 0.0

    def _solve(self, fix: Slot0Fix) -> Solution:
        self.solves += 1
        return solve(self.problem, [fix])
