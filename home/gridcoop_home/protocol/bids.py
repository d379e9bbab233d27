"""Bid curves as they travel on the wire: price/quantity steps tagged with the device behind them.

Units: prices in integer minor currency units per kWh, energy in Wh.

The contract between a home's bid and its dispatch (docs/protocol.md, "Bids and dispatch"): a
bid is the home's *net* demand for the interval as a function of the price, split into buy steps
(net import) and sell steps (net export). Each step is tagged with the device whose energy
changes when that step fills: a filled buy step raises that device's energy by the step's energy
(it charges more, discharges less, starts, produces less), a filled sell step lowers it (it
discharges more, charges less, stops, produces more). `baseline` says what each device does
when none of its steps fills. So a device's energy for the interval is always

    baseline[device] + filled buy energy of its steps - filled sell energy of its steps

(Wh, + = the device takes energy from the home's connection, - = it supplies it). That one rule,
`gridcoop_home.protocol.dispatch.device_energies`, turns every allocation into commands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gridcoop_home.protocol.errors import (
    CURVES_CROSS,
    MALFORMED,
    NOT_MONOTONE,
    OUT_OF_BOUNDS,
    ProtocolError,
)

# An asset is "base" (inflexible load), "pv", "battery", "ev" or "load:<id>" for a deferrable load.
ASSET_PATTERN = re.compile(r"^(base|pv|battery|ev|load:[a-z0-9_\-]{1,32})$")
BASE = "base"  # inflexible consumption: no device to command
DEVICE_PATTERN = re.compile(r"^(pv|battery|ev|load:[a-z0-9_\-]{1,32})$")  # every asset but base
MAX_STEPS_PER_SIDE = 16
MAX_BASELINE_DEVICES = 32


@dataclass(frozen=True, slots=True)
class BidStep:
    """One step of a curve: up to `energy_wh` at `price` (minor units per kWh)."""

    price: int
    energy_wh: int
    asset: str = "base"

    def to_wire(self) -> dict[str, Any]:
        return {"price": self.price, "energy_wh": self.energy_wh, "asset": self.asset}

    @classmethod
    def from_wire(cls, data: object, where: str) -> BidStep:
        if not isinstance(data, dict):
            raise ProtocolError(MALFORMED, f"{where} must be an object")
        unknown = set(data) - {"price", "energy_wh", "asset"}
        if unknown:
            raise ProtocolError(MALFORMED, f"{where} has unknown fields {sorted(unknown)}")
        price = _require_int(data, "price", where)
        energy = _require_int(data, "energy_wh", where)
        asset = data.get("asset", "base")
        if not isinstance(asset, str) or not ASSET_PATTERN.match(asset):
            raise ProtocolError(
                MALFORMED, f"{where}.asset must be base, pv, battery, ev or load:<id>"
            )
        return cls(price=price, energy_wh=energy, asset=asset)


@dataclass(frozen=True, slots=True)
class BidCurves:
    """A home's buy and sell curves for one interval, and each device's energy (Wh) when none of
    its steps fills (absent devices: 0, i.e. idle)."""

    buy: tuple[BidStep, ...]
    sell: tuple[BidStep, ...]
    baseline: Mapping[str, int] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "buy": [step.to_wire() for step in self.buy],
            "sell": [step.to_wire() for step in self.sell],
        }
        if self.baseline:  # omitted when empty, so bids without one keep their bytes
            wire["baseline"] = dict(sorted(self.baseline.items()))
        return wire

    def scaled(self, factor: float) -> BidCurves:
        """The same bid for an interval `factor` times as long (a 15-minute plan bidding into
        5-minute intervals: 1/3). Energies round toward zero, so a device's energy never grows
        beyond the scaled plan by rounding; a step keeps at least 1 Wh."""
        if factor == 1:
            return self

        def steps(side: tuple[BidStep, ...]) -> tuple[BidStep, ...]:
            return tuple(
                BidStep(s.price, max(1, math.floor(s.energy_wh * factor)), s.asset) for s in side
            )

        baseline = {device: math.trunc(wh * factor) for device, wh in self.baseline.items()}
        return BidCurves(steps(self.buy), steps(self.sell), baseline)

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> BidCurves:
        """Curves from a stored, already checked bid body (see parse_bid for untrusted input)."""
        return cls(
            buy=tuple(BidStep.from_wire(s, "buy") for s in body.get("buy", [])),
            sell=tuple(BidStep.from_wire(s, "sell") for s in body.get("sell", [])),
            baseline={str(k): int(v) for k, v in body.get("baseline", {}).items()},
        )


def _require_int(data: dict[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(MALFORMED, f"{where}.{key} must be an integer")
    return value


@dataclass(frozen=True, slots=True)
class BidLimits:
    """Bounds the hub enforces on every bid (configurable per hub)."""

    price_min: int = -500
    price_max: int = 5_000
    max_step_wh: int = 100_000
    max_steps: int = MAX_STEPS_PER_SIDE


@dataclass(frozen=True, slots=True)
class Bid:
    """The body of a signed "bid" message: curves for the interval starting at `interval_start`."""

    interval_start: int  # UTC seconds since the epoch, aligned to the market interval
    curves: BidCurves

    def to_wire(self) -> dict[str, Any]:
        return {"interval_start": self.interval_start, **self.curves.to_wire()}


def parse_bid(body: dict[str, Any], limits: BidLimits) -> Bid:
    unknown = set(body) - {"interval_start", "buy", "sell", "baseline"}
    if unknown:
        raise ProtocolError(MALFORMED, f"bid has unknown fields {sorted(unknown)}")
    interval_start = _require_int(body, "interval_start", "bid")
    buy = _parse_side(body.get("buy", []), "buy", limits)
    sell = _parse_side(body.get("sell", []), "sell", limits)
    if not buy and not sell:
        raise ProtocolError(MALFORMED, "a bid needs at least one buy or sell step")
    _check_monotone(buy, "buy", descending=True)
    _check_monotone(sell, "sell", descending=False)
    if buy and sell and max(s.price for s in buy) >= min(s.price for s in sell):
        raise ProtocolError(
            CURVES_CROSS,
            f"highest buy price {max(s.price for s in buy)} is not below lowest sell price "
            f"{min(s.price for s in sell)}: net your own flows before bidding",
        )
    baseline = _parse_baseline(body.get("baseline", {}), limits)
    return Bid(
        interval_start=interval_start, curves=BidCurves(buy=buy, sell=sell, baseline=baseline)
    )


def _parse_baseline(raw: object, limits: BidLimits) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise ProtocolError(MALFORMED, "baseline must be an object of device: Wh")
    if len(raw) > MAX_BASELINE_DEVICES:
        raise ProtocolError(
            OUT_OF_BOUNDS, f"baseline names {len(raw)} devices, at most {MAX_BASELINE_DEVICES}"
        )
    bound = limits.max_step_wh * limits.max_steps
    baseline: dict[str, int] = {}
    for device, energy in raw.items():
        if not isinstance(device, str) or not DEVICE_PATTERN.match(device):
            raise ProtocolError(
                MALFORMED, f"baseline.{device}: a device is pv, battery, ev or load:<id>"
            )
        if isinstance(energy, bool) or not isinstance(energy, int):
            raise ProtocolError(MALFORMED, f"baseline.{device} must be an integer (Wh)")
        if not -bound <= energy <= bound:
            raise ProtocolError(
                OUT_OF_BOUNDS, f"baseline.{device} {energy} Wh outside [-{bound}, {bound}]"
            )
        baseline[device] = energy
    return baseline


def _parse_side(raw: object, side: str, limits: BidLimits) -> tuple[BidStep, ...]:
    if not isinstance(raw, list):
        raise ProtocolError(MALFORMED, f"{side} must be a list of steps")
    if len(raw) > limits.max_steps:
        raise ProtocolError(
            OUT_OF_BOUNDS, f"{side} has {len(raw)} steps, at most {limits.max_steps}"
        )
    steps = tuple(BidStep.from_wire(item, f"{side}[{i}]") for i, item in enumerate(raw))
    for i, step in enumerate(steps):
        if not limits.price_min <= step.price <= limits.price_max:
            raise ProtocolError(
                OUT_OF_BOUNDS,
                f"{side}[{i}].price {step.price} outside [{limits.price_min}, {limits.price_max}]",
            )
        if not 0 < step.energy_wh <= limits.max_step_wh:
            raise ProtocolError(
                OUT_OF_BOUNDS,
                f"{side}[{i}].energy_wh {step.energy_wh} outside [1, {limits.max_step_wh}]",
            )
    return steps


def _check_monotone(steps: tuple[BidStep, ...], side: str, descending: bool) -> None:
    for i in range(1, len(steps)):
        previous, current = steps[i - 1].price, steps[i].price
        if (descending and current > previous) or (not descending and current < previous):
            order = "non-increasing" if descending else "non-decreasing"
            raise ProtocolError(NOT_MONOTONE, f"{side} prices must be {order} (step {i})")
