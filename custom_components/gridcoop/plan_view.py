"""The plan as the owner reads it (`gridcoop.get_plan`): device names, local times, currency."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gridcoop_home.planner import Plan
from homeassistant.util import dt as dt_util

from .const import FLEXIBLE_LOAD
from .devices import DeviceConfig
from .money import price_major


def plan_response(
    result: Plan,
    start: datetime,
    devices: Mapping[str, DeviceConfig],
    *,
    currency: str,
    island: bool,
) -> dict[str, Any]:
    names = {d.load_id: d.title for d in devices.values() if d.kind == FLEXIBLE_LOAD}
    s = result.schedule
    slots = [
        {
            "start": dt_util.as_local(when).isoformat(),
            "grid_import_w": round(s.grid_import_w[i]),
            "grid_export_w": round(s.grid_export_w[i]),
            "pv_w": round(s.pv_used_w[i]),
            "battery_w": round(s.battery_charge_w[i] - s.battery_discharge_w[i]),
            "battery_soc_wh": round(s.battery_soc_wh[i]),
            "ev_w": round(s.ev_charge_w[i]),
            "loads_w": {names.get(k, k): round(v[i]) for k, v in s.loads_w.items()},
            # What the plan expects a kWh to cost (buy) and earn (sell) in this slot.
            "buy_price": price_major(s.buy_price[i]),
            "sell_price": price_major(s.sell_price[i]),
        }
        for i, when in enumerate(s.starts)
    ]
    return {
        "start": dt_util.as_local(start).isoformat(),
        "currency": currency,
        "island": island,
        "expected_cost": price_major(result.expected_cost),
        "self_consumption": round(result.self_consumption, 3),
        "explanations": [_named(line, names) for line in result.explanations],
        "warnings": list(result.warnings),
        "discomfort_prices": [
            {"load": names.get(d.load_id, d.load_id), "price": price_major(d.price), "note": d.note}
            for d in result.discomfort
        ],
        "slots": slots,
    }


def _named(line: str, names: Mapping[str, str]) -> str:
    """The planner names loads by id; the owner knows them by name."""
    for load_id, name in names.items():
        line = line.replace(load_id, name)
    return line
