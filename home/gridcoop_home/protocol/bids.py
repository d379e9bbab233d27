"""Bid curves as they travel on the wire: price/quantity steps tagged with the asset behind them.

Units: prices in integer minor currency units per kWh, energy in Wh. The asset tag lets the hub turn
an allocation back into device-level dispatch commands ("discharge battery", "start dishwasher").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
MAX_STEPS_PER_SIDE = 16


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
    """A home's buy and sell curves for one interval."""

    buy: tuple[BidStep, ...]
    sell: tuple[BidStep, ...]

    def to_wire(self) -> dict[str, Any]:
        return {
            "buy": [step.to_wire() for step in self.buy],
            "sell": [step.to_wire() for step in self.sell],
        }


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
    unknown = set(body) - {"interval_start", "buy", "sell"}
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
    return Bid(interval_start=interval_start, curves=BidCurves(buy=buy, sell=sell))


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
