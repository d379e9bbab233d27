"""What a simulation run is: size, seed, place, period, neighbourhood mix and market mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hub.config import HubConfig

SLOT_SECONDS = 900
SLOTS_PER_DAY = 96
MODES = ("periodic", "continuous")


@dataclass(frozen=True, slots=True)
class Mix:
    """Shares of homes with each device, and how big the devices are (see docs/simulator.md).

    Batteries go to PV homes first (a home battery is mostly bought with a PV system); EVs and PV
    are drawn independently. Every home has a dishwasher and a washing machine; some also have an
    electric water heater that may run whenever it likes within its window (interruptible).
    """

    pv_share: float = 0.5
    battery_share: float = 1 / 3
    ev_share: float = 0.1
    water_heater_share: float = 0.4
    annual_kwh_median: float = 3_500.0
    annual_kwh_sigma: float = 0.35  # lognormal spread of annual consumption
    pv_kwp: tuple[float, float] = (4.0, 10.0)
    battery_kwh: tuple[float, ...] = (5.0, 7.5, 10.0, 12.5, 15.0)
    battery_wear_per_kwh: float = 2.0  # minor units per kWh cycled
    ev_kwh: tuple[float, ...] = (40.0, 58.0, 77.0)
    ev_charger_w: tuple[float, ...] = (7_400.0, 11_000.0)
    green_retirer_share: float = 0.5  # share of EV owners who retire green certificates

    def __post_init__(self) -> None:
        for name in ("pv_share", "battery_share", "ev_share", "water_heater_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"mix.{name} must be within 0-1, got {value}")


@dataclass(frozen=True, slots=True)
class SimConfig:
    homes: int = 200
    days: int = 30
    seed: int = 1
    start: date = date(2026, 5, 4)  # a Monday in May: PV surplus at noon, evening peaks
    timezone: str = "Europe/Berlin"  # local time of the households' routines and the H0 profile
    latitude: float = 52.5
    longitude: float = 13.4
    mode: str = "periodic"
    feeder: Path | None = None
    hub: HubConfig = field(default_factory=HubConfig)
    mix: Mix = field(default_factory=Mix)
    horizon_slots: int = 96  # each plan looks 24 h ahead
    reading_batch_slots: int = 24  # homes upload their meter readings every 6 h
    workers: int = 2
    data_dir: Path | None = None  # where the hub's SQLite file goes (a temp dir if None)

    def __post_init__(self) -> None:
        if self.homes < 1 or self.days < 1:
            raise ValueError("homes and days must be at least 1")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.hub.interval_seconds != SLOT_SECONDS:
            raise ValueError("the simulator runs 15-minute market intervals (the planner's slots)")
        if not 96 <= self.horizon_slots <= 192:
            raise ValueError("horizon_slots must be within 96-192 (24-48 h)")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")

    @property
    def slots(self) -> int:
        return self.days * SLOTS_PER_DAY
