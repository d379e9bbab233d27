"""What the hub answers, as typed values (the wire shapes are documented in docs/hub/api.md).

Parsing is strict about what a home relies on and lenient about the rest: a newer hub may add
fields. A missing or mistyped field raises BadResponse naming it, never a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridcoop_home.client.errors import BadResponse


def _int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key) if isinstance(data, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadResponse(502, "bad_response", f"{where}.{key} must be an integer, got {value!r}")
    return value


def _opt_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if data.get(key) is None else _int(data, key, where)


def _str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default) if isinstance(data, Mapping) else None
    if not isinstance(value, str):
        raise BadResponse(502, "bad_response", f"{where}.{key} must be a string, got {value!r}")
    return value


def _items(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise BadResponse(502, "bad_response", f"{where}.{key} must be a list of objects")
    return value


@dataclass(frozen=True, slots=True)
class HubInfo:
    """`GET /api/v1/info`: the hub's version, clock and market settings."""

    hub_version: str
    protocol_version: int
    server_time_ms: int
    current_interval_start: int
    next_open_interval_start: int
    retail_price: int  # the grid tariff now, minor units per kWh
    feed_in_price: int
    interval_seconds: int
    gate_closure_seconds: int
    currency: str
    timezone: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> HubInfo:
        w = "info"
        return cls(
            hub_version=_str(data, "hub_version", w),
            protocol_version=_int(data, "protocol_version", w),
            server_time_ms=_int(data, "server_time_ms", w),
            current_interval_start=_int(data, "current_interval_start", w),
            next_open_interval_start=_int(data, "next_open_interval_start", w),
            retail_price=_int(data, "retail_price", w),
            feed_in_price=_int(data, "feed_in_price", w),
            interval_seconds=_int(data, "interval_seconds", w),
            gate_closure_seconds=_int(data, "gate_closure_seconds", w),
            currency=_str(data, "currency", w),
            timezone=_str(data, "timezone", w, default="UTC"),
        )

    def interval_start_of(self, now: float) -> int:
        return int(now) - int(now) % self.interval_seconds

    def next_open_interval(self, now: float) -> int:
        """The first interval whose gate is still open at `now`."""
        start = self.interval_start_of(now) + self.interval_seconds
        while start - self.gate_closure_seconds <= now:
            start += self.interval_seconds
        return start


@dataclass(frozen=True, slots=True)
class TariffSlot:
    """The grid backstop for one interval, minor units per kWh."""

    interval_start: int
    retail_price: int
    feed_in_price: int

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> TariffSlot:
        w = "tariff"
        return cls(
            _int(data, "interval_start", w),
            _int(data, "retail_price", w),
            _int(data, "feed_in_price", w),
        )


def tariffs_from_wire(data: Mapping[str, Any]) -> tuple[TariffSlot, ...]:
    return tuple(TariffSlot.from_wire(t) for t in _items(data, "tariffs", "tariffs"))


@dataclass(frozen=True, slots=True)
class ClearedInterval:
    """One cleared market interval (`GET /api/v1/market/intervals`, the `interval_cleared`
    push). `price` is None when nothing traded locally."""

    interval_start: int
    interval_end: int
    price: int | None
    volume_wh: int
    retail_price: int
    feed_in_price: int
    participants: int

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ClearedInterval:
        w = "interval"
        return cls(
            interval_start=_int(data, "interval_start", w),
            interval_end=_int(data, "interval_end", w),
            price=_opt_int(data, "price", w),
            volume_wh=_int(data, "volume_wh", w),
            retail_price=_int(data, "retail_price", w),
            feed_in_price=_int(data, "feed_in_price", w),
            participants=_int(data, "participants", w),
        )


def intervals_from_wire(data: Mapping[str, Any]) -> tuple[ClearedInterval, ...]:
    return tuple(ClearedInterval.from_wire(i) for i in _items(data, "intervals", "intervals"))


@dataclass(frozen=True, slots=True)
class Enrolled:
    """`POST /api/v1/enrol`: the new home."""

    home_id: str
    name: str
    protocol_version: int
    currency: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Enrolled:
        home = data.get("home")
        if not isinstance(home, Mapping):
            raise BadResponse(502, "bad_response", "enrol.home must be an object")
        return cls(
            home_id=_str(home, "home_id", "enrol.home"),
            name=_str(home, "name", "enrol.home", default=""),
            protocol_version=_int(data, "protocol_version", "enrol"),
            currency=_str(data, "currency", "enrol", default="EUR"),
        )


@dataclass(frozen=True, slots=True)
class BidReceipt:
    """`POST /api/v1/bids`: stored (first bid for the interval) or replaced."""

    interval_start: int
    status: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> BidReceipt:
        return cls(_int(data, "interval_start", "bid"), _str(data, "status", "bid"))


@dataclass(frozen=True, slots=True)
class ReadingsReceipt:
    """`POST /api/v1/readings`: how many readings were taken, seen before or refused."""

    accepted: int
    duplicates: int
    rejected: int

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ReadingsReceipt:
        w = "readings"
        return cls(
            _int(data, "accepted", w), _int(data, "duplicates", w), _int(data, "rejected", w)
        )
