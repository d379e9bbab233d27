"""Dispatch commands: what each device of a home should do during a cleared interval.

Derived from the allocation of the home's bid steps, using the asset tag of each step:

| asset      | filled buy energy        | filled sell energy         | unfilled energy          |
|------------|--------------------------|----------------------------|--------------------------|
| battery    | charge at P W            | discharge at P W           | idle when nothing filled |
| ev         | charge at P W            | (EVs do not sell)          | pause                    |
| load:<id>  | start                    | -                          | defer                    |
| pv         | -                        | export at P W              | curtail to the sold power|
| base       | no command (inflexible)  | no command                 | no command               |

P is the filled energy spread evenly over the interval: P [W] = energy [Wh] * 3600 / seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.bids import BidCurves, BidStep


@dataclass(frozen=True, slots=True)
class DispatchCommand:
    device: str  # the asset tag: battery, ev, pv or load:<id>
    action: str  # charge | discharge | idle | pause | start | defer | curtail | export
    power_w: int
    energy_wh: int
    reason: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "action": self.action,
            "power_w": self.power_w,
            "energy_wh": self.energy_wh,
            "reason": self.reason,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> DispatchCommand:
        return cls(
            device=str(data["device"]),
            action=str(data["action"]),
            power_w=int(data["power_w"]),
            energy_wh=int(data["energy_wh"]),
            reason=str(data["reason"]),
        )


def _totals(steps: Sequence[BidStep], filled: Sequence[int]) -> dict[str, tuple[int, int]]:
    """Per asset: (offered Wh, filled Wh)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for step, got in zip(steps, filled, strict=True):
        totals[step.asset][0] += step.energy_wh
        totals[step.asset][1] += got
    return {asset: (pair[0], pair[1]) for asset, pair in totals.items()}


def derive_commands(
    curves: BidCurves,
    buy_filled_wh: Sequence[int],
    sell_filled_wh: Sequence[int],
    interval_seconds: int,
) -> list[DispatchCommand]:
    """Turn per-step fills (local + grid) into device commands, sorted by device for stability."""

    def power(energy_wh: int) -> int:
        return energy_wh * 3600 // interval_seconds

    bought = _totals(curves.buy, buy_filled_wh)
    sold = _totals(curves.sell, sell_filled_wh)
    commands: list[DispatchCommand] = []
    for asset in sorted(set(bought) | set(sold)):
        if asset == "base":
            continue
        offered_buy, got_buy = bought.get(asset, (0, 0))
        offered_sell, got_sell = sold.get(asset, (0, 0))
        commands.append(_command_for(asset, offered_buy, got_buy, offered_sell, got_sell, power))
    return commands


def _command_for(
    asset: str,
    offered_buy: int,
    got_buy: int,
    offered_sell: int,
    got_sell: int,
    power: Any,
) -> DispatchCommand:
    if asset == "battery":
        if got_sell > 0:
            return DispatchCommand(
                asset, "discharge", power(got_sell), got_sell, "sell step filled"
            )
        if got_buy > 0:
            return DispatchCommand(asset, "charge", power(got_buy), got_buy, "buy step filled")
        return DispatchCommand(asset, "idle", 0, 0, "no battery step filled")
    if asset == "ev":
        if got_buy > 0:
            return DispatchCommand(asset, "charge", power(got_buy), got_buy, "buy step filled")
        return DispatchCommand(asset, "pause", 0, 0, "price above the EV's bid")
    if asset == "pv":
        if got_sell < offered_sell:
            return DispatchCommand(
                asset, "curtail", power(got_sell), got_sell, "nobody buys the rest at its ask"
            )
        return DispatchCommand(asset, "export", power(got_sell), got_sell, "all PV sold")
    # Deferrable loads ("load:<id>"): run only when their whole offered energy is covered.
    if got_buy > 0 and got_buy >= offered_buy:
        return DispatchCommand(asset, "start", power(got_buy), got_buy, "bid filled")
    return DispatchCommand(asset, "defer", 0, 0, "price above the load's discomfort price")
