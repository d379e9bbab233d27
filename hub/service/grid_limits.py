"""Dimming: the grid operator caps a home's (or every home's) import and/or export for a time range.

As section 14a EnWG lets a German DSO dim controllable loads down to 4.2 kW, the operator posts
a limit (POST /api/v1/admin/grid-limits, docs/market.md#dimming-grid-limits-on-homes). At each
clearing the limits that overlap the interval cap the home's bid: its cheapest buy steps and its
dearest sell steps are cut until what it may buy (sell) fits the limit, so the market never
allocates the home more. The allocation carries the limit (gridcoop_home.protocol.grid_limit.
GridLimit) so that the home holds its devices to it.

The limits are stored as one operator setting (key `grid_limits`); expired ones are dropped when
a new one is stored.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.dispatch import is_load
from gridcoop_home.protocol.grid_limit import GridLimit

SETTING_KEY = "grid_limits"
MAX_LIMIT_KW = 1_000_000.0
MAX_SPAN_SECONDS = 31 * 24 * 3600
MAX_LIMITS = 1000


class GridLimitError(ValueError):
    """A limit request is wrong; the message names the field."""


@dataclass(frozen=True, slots=True)
class GridLimitOrder:
    """One dimming command: [start, end) in UTC seconds; home_id None: every home."""

    limit_id: str
    home_id: str | None
    start: int
    end: int
    import_kw: float | None
    export_kw: float | None

    @property
    def limit(self) -> GridLimit:
        return GridLimit(_watts(self.import_kw), _watts(self.export_kw))

    def to_wire(self) -> dict[str, Any]:
        return {
            "limit_id": self.limit_id,
            "home_id": self.home_id,
            "start": self.start,
            "end": self.end,
            "import_kw": self.import_kw,
            "export_kw": self.export_kw,
        }

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def _watts(kw: float | None) -> int | None:
    return None if kw is None else math.floor(kw * 1000)


def parse_request(body: object, now_s: int) -> GridLimitOrder:
    """A new dimming command from the admin API's JSON body; GridLimitError names the field."""
    fields = {"home_id", "start", "end", "import_kw", "export_kw"}
    if not isinstance(body, dict) or set(body) - fields:
        raise GridLimitError(f"send an object with {sorted(fields)}")
    home_id = body.get("home_id")
    if home_id is not None and (not isinstance(home_id, str) or not home_id):
        raise GridLimitError("home_id must be a home's id, or null for every home")
    start, end = body.get("start"), body.get("end")
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GridLimitError(f"{name} must be UTC seconds (a non-negative integer)")
    assert isinstance(start, int) and isinstance(end, int)
    if not start < end <= start + MAX_SPAN_SECONDS:
        raise GridLimitError(f"end must be after start, at most {MAX_SPAN_SECONDS} s later")
    if end <= now_s:
        raise GridLimitError("end is in the past")
    import_kw, export_kw = _kw(body, "import_kw"), _kw(body, "export_kw")
    if import_kw is None and export_kw is None:
        raise GridLimitError("give import_kw, export_kw or both")
    return GridLimitOrder(secrets.token_hex(8), home_id, start, end, import_kw, export_kw)


def _kw(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise GridLimitError(f"{name} must be a number of kW or null")
    if not 0 <= value <= MAX_LIMIT_KW:
        raise GridLimitError(f"{name} must be within 0-{MAX_LIMIT_KW:g} kW")
    return float(value)


def from_setting(stored: Mapping[str, Any]) -> list[GridLimitOrder]:
    """The stored dimming commands (the operator settings' `grid_limits`)."""
    return [
        GridLimitOrder(
            str(raw["limit_id"]),
            raw.get("home_id"),
            int(raw["start"]),
            int(raw["end"]),
            raw.get("import_kw"),
            raw.get("export_kw"),
        )
        for raw in stored.get(SETTING_KEY, [])
    ]


def to_setting(orders: Sequence[GridLimitOrder], now_s: int) -> list[dict[str, Any]]:
    """What is stored: the commands that have not ended yet."""
    return [order.to_wire() for order in orders if order.end > now_s]


def limits_for(
    orders: Sequence[GridLimitOrder], home_ids: Sequence[str], start: int, end: int
) -> dict[str, GridLimit]:
    """home_id -> the tightest limit of the commands overlapping [start, end), for these homes."""
    homes = set(home_ids)
    limits: dict[str, GridLimit] = {}
    for order in orders:
        if not order.overlaps(start, end):
            continue
        targets = homes if order.home_id is None else homes & {order.home_id}
        for home_id in targets:
            known = limits.get(home_id)
            limits[home_id] = order.limit if known is None else known.tighter(order.limit)
    return limits


def cap_curves(curves: BidCurves, limit: GridLimit, interval_seconds: int) -> BidCurves:
    """The bid within the limit: buy steps kept from the highest price down until the import
    limit's energy is reached, sell steps from the lowest price up until the export limit's (the
    last kept step shortened). A flexible load runs whole or not at all, so a load step that does
    not fit whole ends its curve. The kept steps are a prefix of each curve (buy prices fall, sell
    prices rise along it); the baseline is the home's own."""
    import_wh, export_wh = limit.energy_wh(interval_seconds)
    return replace(curves, buy=_prefix(curves.buy, import_wh), sell=_prefix(curves.sell, export_wh))


def _prefix(steps: tuple[BidStep, ...], limit_wh: int | None) -> tuple[BidStep, ...]:
    if limit_wh is None:
        return steps
    kept, room = [], limit_wh
    for step in steps:
        if room <= 0 or (is_load(step.asset) and step.energy_wh > room):
            break
        kept.append(replace(step, energy_wh=min(step.energy_wh, room)))
        room -= step.energy_wh
    return tuple(kept)
