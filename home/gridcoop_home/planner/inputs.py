"""What a home tells the planner: devices, forecasts, history and strategy.

Units: power W, energy Wh, prices minor currency units per kWh (e.g. euro cents/kWh), carbon
intensity g CO2/kWh. Datetimes are timezone-aware. One slot is 15 minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from gridcoop_home.protocol.grid_limit import GridLimit

SLOT = timedelta(minutes=15)
SLOT_HOURS = 0.25
MAX_SLOTS = 192  # 48 h

Samples = Sequence[tuple[datetime, float]]


class Profile(StrEnum):
    """What the objective optimises (see docs/planner.md)."""

    MAX_INCOME = "max_income"
    MIN_CARBON = "min_carbon"
    STABLE_BILL = "stable_bill"


@dataclass(frozen=True, slots=True)
class Battery:
    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    soc_wh: float
    reserve_wh: float = 0.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    # Wear cost per kWh cycled (one kWh charged and later discharged), minor units.
    degradation_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class EV:
    capacity_wh: float
    soc_wh: float
    target_wh: float
    departure: datetime
    max_charge_w: float
    # A charger that cannot modulate below this power (0 = fully modulating) makes the model a MILP.
    min_charge_w: float = 0.0
    charge_efficiency: float = 0.9
    plugged_in: bool = True
    # It may not charge before this (a cheaper night tariff, a car that arrives later); None: now.
    earliest_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeferrableLoad:
    """A flexible appliance. Give `energy_wh`, or `duration_min` (energy = power x duration)."""

    id: str
    power_w: float  # running power; the maximum power when interruptible
    earliest_start: datetime
    latest_finish: datetime
    energy_wh: float | None = None
    duration_min: float | None = None
    interruptible: bool = False
    # What each hour of delay (of the load's energy-weighted centre) costs the household.
    discomfort_per_hour: float = 0.0
    optional: bool = False
    skip_cost: float = 0.0  # only for optional loads: what not running it at all costs
    running: bool = False  # a non-interruptible load already started: it must continue now


@dataclass(frozen=True, slots=True)
class Site:
    grid_limit_w: float
    latitude: float = 50.0
    longitude: float = 10.0
    pv_peak_w: float = 0.0


@dataclass(frozen=True, slots=True)
class Tariffs:
    """Grid backstop per slot: retail (grid sells) and feed-in (grid buys); optional carbon."""

    retail: Sequence[float]
    feed_in: Sequence[float]
    carbon_g_per_kwh: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class History:
    """Recorded samples used when a forecast is missing."""

    base_load_w: Samples = ()
    pv_w: Samples = ()
    clearing_prices: Samples = ()


@dataclass(frozen=True, slots=True)
class Strategy:
    profile: Profile = Profile.MAX_INCOME
    # min_carbon: what a kg of CO2 is worth against money, minor units per kg.
    carbon_price_per_kg: float = 100.0
    # stable_bill: monthly budget and the extra weight on each unit of cost above/below it.
    monthly_budget: float = 0.0
    over_budget_weight: float = 1.0
    under_budget_weight: float = 0.0


@dataclass(frozen=True, slots=True)
class EndOfHorizon:
    """The owner's rule for the battery's energy at the end of the horizon (docs/planner.md).

    soc_target: the state of charge (fraction of capacity, 0-1) the battery should hold when the
    horizon ends; soft: when it cannot be reached the plan gets as close as it can and reports a
    `battery_end_target` violation. None: no target.
    stored_value: what each kWh left in the battery is worth (minor units/kWh); None: the mean
    expected buy price x discharge efficiency. 0 lets the plan empty the battery if that pays.
    """

    soc_target: float | None = None
    stored_value: float | None = None


@dataclass(frozen=True, slots=True)
class PlanRequest:
    start: datetime
    slots: int
    site: Site
    tariffs: Tariffs
    battery: Battery | None = None
    ev: EV | None = None
    loads: tuple[DeferrableLoad, ...] = ()
    pv_forecast_w: Sequence[float] | None = None
    base_load_forecast_w: Sequence[float] | None = None
    # Expected local clearing price per slot; None = derive from history.clearing_prices.
    price_forecast: Sequence[float] | None = None
    history: History = field(default_factory=History)
    strategy: Strategy = field(default_factory=Strategy)
    # No hub: plan against the grid tariff alone and ignore local prices.
    island: bool = False
    # Compute discomfort prices and bid curves (extra solves); off for a bare schedule.
    market_outputs: bool = True
    # The grid operator's limit per slot from `start` (dimming, sent by the hub with allocations);
    # None or past the sequence's end: only the site's connection limit.
    grid_limits: Sequence[GridLimit | None] = ()
    # The battery's final state of charge target and/or the value of the energy left in it.
    end_of_horizon: EndOfHorizon = field(default_factory=EndOfHorizon)
