"""What the planner returns: the schedule, its cost and carbon, prices, bids and reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gridcoop_home.protocol.bids import BidCurves


@dataclass(frozen=True, slots=True)
class Schedule:
    """Per-slot plan; every tuple has one entry per slot. Power in W, state of charge in Wh."""

    starts: tuple[datetime, ...]
    grid_import_w: tuple[float, ...]
    grid_export_w: tuple[float, ...]
    pv_used_w: tuple[float, ...]
    pv_curtailed_w: tuple[float, ...]
    base_load_w: tuple[float, ...]
    battery_charge_w: tuple[float, ...]
    battery_discharge_w: tuple[float, ...]
    battery_soc_wh: tuple[float, ...]
    ev_charge_w: tuple[float, ...]
    ev_soc_wh: tuple[float, ...]
    loads_w: Mapping[str, tuple[float, ...]]
    buy_price: tuple[float, ...]  # expected price per slot, minor units/kWh
    sell_price: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Violation:
    """A soft limit the plan could not keep: which, by how much (Wh), and why."""

    limit: str  # "grid_limit", "battery_reserve", "ev_target" or "battery_end_target"
    amount_wh: float
    reason: str


@dataclass(frozen=True, slots=True)
class DiscomfortPrice:
    """Above `price` (minor units/kWh in the next slot) the household prefers to defer the load.

    None when the load cannot start in the next slot (window not open, or already running).
    """

    load_id: str
    price: float | None
    note: str


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    load_id: str
    start: datetime | None  # first slot it runs in; None if skipped
    skipped: bool


@dataclass(frozen=True, slots=True)
class SolveStats:
    variables: int
    constraints: int
    build_s: float
    solve_s: float
    extra_solves: int  # what-if solves behind discomfort prices and bids
    total_s: float


@dataclass(frozen=True, slots=True)
class Dispatch:
    """The first slot's actions: what the devices do now. Power in W."""

    battery_w: float  # positive charges, negative discharges
    ev_w: float
    loads_on: tuple[str, ...]
    grid_w: float  # positive imports, negative exports


@dataclass(frozen=True, slots=True)
class Plan:
    schedule: Schedule
    expected_cost: float  # minor units over the horizon (negative = income)
    expected_carbon_g: float | None  # None when no carbon intensity was given
    self_consumption: float  # share of used PV consumed at home (0..1)
    discomfort: tuple[DiscomfortPrice, ...]
    bids: BidCurves | None  # for the next interval; None in island mode or when not asked
    loads: tuple[LoadOutcome, ...]
    explanations: tuple[str, ...]
    violations: tuple[Violation, ...]
    warnings: tuple[str, ...]
    dispatch: Dispatch
    stats: SolveStats
