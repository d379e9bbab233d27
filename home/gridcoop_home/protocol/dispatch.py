"""Dispatch: what each device of a home does during a cleared interval.

One rule, stated in `gridcoop_home.protocol.bids`: a device's energy for the interval is its
baseline plus the filled energy of its buy steps minus the filled energy of its sell steps
(`device_energies`). The hub (for every allocation), the simulator and the home itself use this
function and no other reading of a bid.

A flexible load cannot run at a part of its power: it either runs (every buy step of it filled,
no sale) or not (no buy, every sale). A step fills in part only when it is the marginal bid: the
clearing price is the step's own price and the market rationed it. A load whose energy straddles
the home's curve (a buy step at p and a sell step at p + 1, when no whole split fitted) is also
left between the two when its marginal step is rationed. The home pays for (or is paid for) what
it got either way; the rest settles with the grid. Running then buys the missing part, and what
was sold, back at retail; not running hands back what it got and sells the rest of the load's
energy at feed-in. The load runs when that pays for its whole energy. Its own value lies within
its whole-cent step price and is taken at the middle of that cent, so a rationed load loses at
most half a minor unit per kWh against its true value.

From the energy (Wh over the interval; + takes from the home's connection, - supplies it):

| device     | energy > 0        | energy < 0           | energy = 0 |
|------------|-------------------|----------------------|------------|
| battery    | charge at P W     | discharge at P W     | idle       |
| ev         | charge at P W     | pause                | pause      |
| load:<id>  | start             | defer                | defer      |
| pv         | export, or curtail to P W when one of its sell steps did not fill   |

P is the energy spread evenly over the interval, rounded toward zero:
P [W] = |energy [Wh]| * 3600 / interval seconds.

`clamp_command` is the home's last guard: whatever a hub sends, a command never exceeds the
device's rating or what its setpoint entity accepts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gridcoop_home.protocol.bids import BASE, BidCurves, BidStep

BATTERY, EV, PV = "battery", "ev", "pv"
LOAD_PREFIX = "load:"


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

    @property
    def signed_power_w(self) -> int:
        """The setpoint a device takes: + charges (or consumes), - discharges, 0 otherwise."""
        if self.action == "discharge":
            return -self.power_w
        return self.power_w if self.action in ("charge", "start") else 0


@dataclass(frozen=True, slots=True)
class GridPrices:
    """The grid backstop of the interval, minor units per kWh."""

    retail: int
    feed_in: int


@dataclass(frozen=True, slots=True)
class DeviceEnergy:
    """One device's energy for an interval and how it came about (all Wh)."""

    energy_wh: int
    baseline_wh: int
    bought_wh: int  # filled buy energy of its steps (loads: whole steps)
    sold_wh: int  # filled sell energy of its steps (loads: whole steps)
    unsold_wh: int  # offered sell energy that did not fill (tells PV to curtail)


def is_load(device: str) -> bool:
    return device.startswith(LOAD_PREFIX)


def device_energies(
    curves: BidCurves,
    buy_filled_wh: Sequence[int],
    sell_filled_wh: Sequence[int],
    grid: GridPrices | None = None,
) -> dict[str, DeviceEnergy]:
    """Every device's energy for the interval, given each step's filled energy (local + grid).
    `grid` decides a load left between running and not (a marginal step filled in part, or none
    of its steps on both sides filled); without it a partly filled load step is refused."""
    bought, partly = _filled(curves.buy, buy_filled_wh)
    sold, partly_sold = _filled(curves.sell, sell_filled_wh)
    partly |= partly_sold
    unsold: dict[str, int] = defaultdict(int)
    for step, got in zip(curves.sell, sell_filled_wh, strict=True):
        unsold[step.asset] += step.energy_wh - got
    devices = {*curves.baseline, *bought, *sold} - {BASE}
    energies = {}
    for device in sorted(devices):
        baseline = curves.baseline.get(device, 0)
        buy, sell = bought.get(device, 0), sold.get(device, 0)
        if is_load(device) and (grid is not None or device in partly):
            if grid is None:
                raise ValueError(f"{device}: a partly filled load step needs the grid prices")
            buy, sell = _whole_load(curves, device, buy, sell, grid)
        energies[device] = DeviceEnergy(
            baseline + buy - sell, baseline, buy, sell, unsold.get(device, 0)
        )
    return energies


def energy_range_at(curves: BidCurves, device: str, price: int) -> tuple[int, int]:
    """The least and the most energy (Wh) `device` may get for the interval when the market
    clears at `price`, by `device_energies`' rule: a buy step above the price fills and one below
    it does not, a sell step below the price fills and one above it does not, and a step at the
    price (the marginal one) may fill in any part. What the home can check of any dispatch."""
    least = most = curves.baseline.get(device, 0)
    for step in curves.buy:
        if step.asset == device and step.price > price:
            least, most = least + step.energy_wh, most + step.energy_wh
        elif step.asset == device and step.price == price:
            most += step.energy_wh
    for step in curves.sell:
        if step.asset == device and step.price < price:
            least, most = least - step.energy_wh, most - step.energy_wh
        elif step.asset == device and step.price == price:
            least -= step.energy_wh
    return least, most


def _filled(steps: Sequence[BidStep], filled: Sequence[int]) -> tuple[dict[str, int], set[str]]:
    """Each device's filled energy, and the devices with a step filled in part."""
    totals: dict[str, int] = defaultdict(int)
    partly: set[str] = set()
    for step, got in zip(steps, filled, strict=True):
        if got < 0 or got > step.energy_wh:
            raise ValueError(f"{step.asset}: filled {got} Wh of a {step.energy_wh} Wh step")
        totals[step.asset] += got
        if 0 < got < step.energy_wh:
            partly.add(step.asset)
    return totals, partly


def _whole_load(
    curves: BidCurves, device: str, got: int, sold: int, grid: GridPrices
) -> tuple[int, int]:
    """The load's filled buy and sell energy, whole: running (every buy step, no sale) or not
    (no buy, every sale). Anything between (a marginal step filled in part, or a load whose
    steps sit on both sides of the home's curve with neither filled) switches only when that
    pays with the rest traded with the grid (see the module doc)."""
    buy_steps = [s for s in curves.buy if s.asset == device]
    sell_steps = [s for s in curves.sell if s.asset == device]
    to_buy = sum(s.energy_wh for s in buy_steps)
    to_sell = sum(s.energy_wh for s in sell_steps)
    if (got, sold) in ((to_buy, 0), (0, to_sell)):
        return got, sold
    # Its own value lies within its whole-cent price: [p, p + 1) for a buy at p ("start at or
    # below p"), [q - 1, q) for a sale at q ("stop at or above q"). Take the middle.
    if buy_steps:
        value = min(s.price for s in buy_steps) + 0.5
    else:
        value = max(s.price for s in sell_steps) - 0.5
    # Running buys the missing part and what was sold back at retail; not running hands back
    # what it got and sells the rest of its energy at feed-in.
    run_extra = (to_buy - got + sold) * grid.retail + (to_sell - sold + got) * grid.feed_in
    runs = value * (to_buy + to_sell) >= run_extra
    return (to_buy, 0) if runs else (0, to_sell)


def derive_commands(
    curves: BidCurves,
    buy_filled_wh: Sequence[int],
    sell_filled_wh: Sequence[int],
    interval_seconds: int,
    grid: GridPrices | None = None,
) -> list[DispatchCommand]:
    """Turn per-step fills (local + grid) into device commands, sorted by device."""
    energies = device_energies(curves, buy_filled_wh, sell_filled_wh, grid)
    return [command_for(device, e, interval_seconds) for device, e in energies.items()]


def command_for(device: str, energy: DeviceEnergy, interval_seconds: int) -> DispatchCommand:
    """The command that carries out one device's energy for the interval."""
    e = energy.energy_wh
    watts = abs(e) * 3600 // interval_seconds
    why = _reason(energy)
    if device == BATTERY:
        if e > 0:
            return DispatchCommand(device, "charge", watts, e, why)
        if e < 0:
            return DispatchCommand(device, "discharge", watts, -e, why)
        return DispatchCommand(device, "idle", 0, 0, why)
    if device == PV:
        produced = max(-e, 0)
        power = produced * 3600 // interval_seconds
        action = "curtail" if energy.unsold_wh > 0 else "export"
        return DispatchCommand(device, action, power, produced, why)
    if e > 0:  # an EV or a flexible load
        return DispatchCommand(device, "charge" if device == EV else "start", watts, e, why)
    return DispatchCommand(device, "pause" if device == EV else "defer", 0, 0, why)


def _reason(energy: DeviceEnergy) -> str:
    return (
        f"baseline {energy.baseline_wh:+d} Wh, bought {energy.bought_wh} Wh, "
        f"sold {energy.sold_wh} Wh"
    )


def plan_commands(
    energies_wh: Mapping[str, int],
    interval_seconds: int,
    reason: str = "plan",
    curtailed_wh: Mapping[str, int] | None = None,
) -> list[DispatchCommand]:
    """Commands for energies that come straight from a plan (an island home has no market):
    the same mapping as for a cleared bid, with the whole energy as the baseline. A PV the plan
    curtails says by how much in `curtailed_wh`."""
    curtailed = curtailed_wh or {}
    return [
        replace(
            command_for(
                device,
                DeviceEnergy(energy, energy, 0, 0, curtailed.get(device, 0)),
                interval_seconds,
            ),
            reason=reason,
        )
        for device, energy in sorted(energies_wh.items())
        if device != BASE
    ]


@dataclass(frozen=True, slots=True)
class PowerLimits:
    """What a device and its setpoint entity accept, W. None: no such limit."""

    max_charge_w: float | None = None  # also an EV charger's or a load's highest power
    max_discharge_w: float | None = None
    setpoint_min: float | None = None  # the setpoint entity's own range (signed W)
    setpoint_max: float | None = None
    can_charge: bool = True  # False at a full battery
    can_discharge: bool = True  # False at or below the reserve


def clamp_command(command: DispatchCommand, limits: PowerLimits) -> DispatchCommand:
    """The command within the device's rating, its state of charge and its setpoint's range;
    `reason` says when it was cut. Only power setpoints (charge, discharge) are limited."""
    if command.action not in ("charge", "discharge"):
        return command
    signed = command.signed_power_w
    low, high = -_or_inf(limits.max_discharge_w), _or_inf(limits.max_charge_w)
    if not limits.can_charge:
        high = min(high, 0.0)
    if not limits.can_discharge:
        low = max(low, 0.0)
    if limits.setpoint_min is not None:
        low = max(low, limits.setpoint_min)
    if limits.setpoint_max is not None:
        high = min(high, limits.setpoint_max)
    kept = int(min(max(signed, low), high)) if low <= high else 0
    if kept == signed:
        return command
    action = command.action
    if command.action in ("charge", "discharge") and kept == 0:
        action = "idle" if command.device == BATTERY else "pause"
    energy = command.energy_wh * abs(kept) // command.power_w if command.power_w else 0
    return DispatchCommand(
        command.device,
        action,
        abs(kept),
        energy,
        f"{command.reason}; limited from {command.power_w} W to {abs(kept)} W",
    )


def _or_inf(value: float | None) -> float:
    return float("inf") if value is None else value
