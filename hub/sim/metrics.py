"""The numbers the report gives, computed from a SimResult (money in minor units, e.g. cents)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hub.sim.config import SLOTS_PER_DAY
from hub.sim.engine import SimResult
from hub.sim.population import HomeSpec

WORLDS = ("A", "B", "C")
# C's homes expect prices from the clearing prices of the last days; on the first day there are
# none (they expect the midpoint of retail and feed-in), so the first night is a cold start.
WARM_UP_DAYS = 2


@dataclass(frozen=True, slots=True)
class Metrics:
    bills: dict[str, np.ndarray]  # world -> per home, minor units over the run (cost > 0)
    change_pct: dict[str, np.ndarray]  # B, C -> per home, % of its consumption at retail
    battery_saving_per_year: dict[str, float]  # "vs A", "vs B": mean per battery home
    peak_kw: dict[str, float]  # transformer import peak
    transformer_kw: dict[str, np.ndarray]  # per slot, import positive
    self_consumption: dict[str, float]  # share of local PV used inside the neighbourhood
    home_self_consumption: dict[str, float]  # share of PV used by the home that made it
    pv_kwh: float
    consumption_kwh: dict[str, float]
    local_kwh: float
    market_balance_mminor: int  # paid - received - fees - grid cost; 0 when money is conserved
    peak_slot: dict[str, int]  # the slot of each world's transformer import peak
    peak_parts_kw: dict[str, dict[str, float]]  # what the homes drew in that slot, by use
    warm_peak_slot: dict[str, int]  # the same, after the first WARM_UP_DAYS
    warm_peak_parts_kw: dict[str, dict[str, float]]
    daily_peak_median_kw: dict[str, float]  # the median of the days' import peaks
    groups: dict[str, Group]  # homes by equipment ("PV + battery", ...)


@dataclass(frozen=True, slots=True)
class Group:
    homes: int
    bills: dict[str, float]  # world -> minor units, the group's total


def _tariff_bill(result: SimResult, world: str) -> np.ndarray:
    retail = np.array([row.retail for row in result.intervals], dtype=np.int64)
    feed_in = np.array([row.feed_in for row in result.intervals], dtype=np.int64)
    imported = result.world(world, "import_wh")
    exported = result.world(world, "export_wh")
    return np.asarray((imported @ retail - exported @ feed_in) / 1000, dtype=float)


def ledger_bills(result: SimResult) -> np.ndarray:
    """World C's bills as the ledger settled them (market money plus imbalance)."""
    balances = result.ledger.balances_mminor
    return np.array([-balances.get(h.home_id, 0) / 1000 for h in result.homes])


def compute(result: SimResult) -> Metrics:
    bills = {
        "A": _tariff_bill(result, "A"),
        "B": _tariff_bill(result, "B"),
        "C": ledger_bills(result),
    }
    # Per cent of what the home's consumption would cost from the grid at retail: always well
    # above zero, unlike the net bill of a home whose PV earns about what it buys.
    retail = np.array([row.retail for row in result.intervals], dtype=np.int64)
    used = sum(result.world("A", f) for f in ("base_wh", "loads_wh", "ev_wh"))
    base = np.maximum(np.asarray(used @ retail, dtype=float) / 1000, 1.0)
    change = {w: (bills[w] - bills["A"]) / base * 100 for w in ("B", "C")}
    year = 365 / result.config.days
    batteries = np.array([h.battery is not None for h in result.homes])
    saving = {
        "vs A": float((bills["A"] - bills["C"])[batteries].mean() * year) if batteries.any() else 0,
        "vs B": float((bills["B"] - bills["C"])[batteries].mean() * year) if batteries.any() else 0,
    }
    net = {
        w: (result.world(w, "import_wh") - result.world(w, "export_wh")).sum(axis=0) for w in WORLDS
    }
    pv = float(result.world("A", "pv_wh").sum())
    peak_slot = {w: int(net[w].argmax()) for w in WORLDS}
    warm = WARM_UP_DAYS * SLOTS_PER_DAY if result.config.days > WARM_UP_DAYS else 0
    warm_slot = {w: warm + int(net[w][warm:].argmax()) for w in WORLDS}
    days = result.calendar.slots // SLOTS_PER_DAY
    return Metrics(
        bills=bills,
        change_pct=change,
        battery_saving_per_year=saving,
        peak_kw={w: float(net[w].max()) * 4 / 1000 for w in WORLDS},
        transformer_kw={w: net[w] * 4 / 1000 for w in WORLDS},
        self_consumption={
            w: 1 - float(np.clip(-net[w], 0, None).sum()) / pv if pv else 0.0 for w in WORLDS
        },
        home_self_consumption={
            w: 1 - float(result.world(w, "export_wh").sum()) / pv if pv else 0 for w in WORLDS
        },
        pv_kwh=pv / 1000,
        consumption_kwh={w: float(net[w].sum()) / 1000 + pv / 1000 for w in WORLDS},
        local_kwh=sum(row.volume_wh for row in result.intervals) / 1000,
        market_balance_mminor=sum(
            row.paid_mminor
            - row.received_mminor
            - row.fees_mminor
            - row.retail * row.grid_import_wh
            + row.feed_in * row.grid_export_wh
            for row in result.intervals
        ),
        peak_slot=peak_slot,
        peak_parts_kw={w: _parts_kw(result, w, peak_slot[w]) for w in WORLDS},
        warm_peak_slot=warm_slot,
        warm_peak_parts_kw={w: _parts_kw(result, w, warm_slot[w]) for w in WORLDS},
        daily_peak_median_kw={
            w: float(np.median(net[w][: days * SLOTS_PER_DAY].reshape(days, -1).max(axis=1)))
            * 4
            / 1000
            for w in WORLDS
        },
        groups=_groups(result, bills),
    )


PARTS = {  # use -> (flow, sign): what made up the neighbourhood's net import in one slot
    "household base load": ("base_wh", 1),
    "appliances": ("loads_wh", 1),
    "EV charging": ("ev_wh", 1),
    "battery charging": ("charge_wh", 1),
    "battery discharging": ("discharge_wh", -1),
    "PV": ("pv_wh", -1),
}


def _parts_kw(result: SimResult, world: str, slot: int) -> dict[str, float]:
    return {
        part: sign * float(result.world(world, flow)[:, slot].sum()) * 4 / 1000
        for part, (flow, sign) in PARTS.items()
    }


def equipment(home: HomeSpec) -> str:
    parts = [
        name
        for name, has in (
            ("PV", home.pv_peak_w > 0),
            ("battery", home.battery is not None),
            ("EV", home.ev is not None),
        )
        if has
    ]
    return " + ".join(parts) or "no PV, battery or EV"


def _groups(result: SimResult, bills: dict[str, np.ndarray]) -> dict[str, Group]:
    members: dict[str, list[int]] = {}
    for n, home in enumerate(result.homes):
        members.setdefault(equipment(home), []).append(n)
    return {
        name: Group(len(rows), {w: float(bills[w][rows].sum()) for w in WORLDS})
        for name, rows in sorted(members.items(), key=lambda item: -len(item[1]))
    }
