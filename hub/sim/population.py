"""Draw the neighbourhood: which home has which devices, and how much it consumes per year."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hub.sim.config import Mix, SimConfig

GRID_LIMIT_W = 17_000.0  # a 3 x 25 A connection
DISHWASHER_KWH_PER_YEAR = 0.7 * 365 * 1.8  # 70 % of days, 1.8 kWh a run
WASHER_KWH_PER_YEAR = 0.45 * 365 * 1.5


@dataclass(frozen=True, slots=True)
class BatterySpec:
    capacity_wh: float
    power_w: float
    wear_per_kwh: float


@dataclass(frozen=True, slots=True)
class EVSpec:
    capacity_wh: float
    charger_w: float


@dataclass(frozen=True, slots=True)
class HomeSpec:
    index: int
    home_id: str  # also the id the hub's store gets (see hub_side.fixed_home_ids)
    annual_kwh: float  # everything the household consumes, flexible loads included (no EV)
    pv_peak_w: float  # 0: no PV
    pv_tilt: float
    pv_azimuth: float
    battery: BatterySpec | None
    ev: EVSpec | None
    water_heater: bool
    retires_green: bool  # retires green certificates for its EV sessions

    @property
    def base_kwh(self) -> float:
        """The inflexible part: the annual total less what the flexible appliances use."""
        flexible = DISHWASHER_KWH_PER_YEAR + WASHER_KWH_PER_YEAR
        if self.water_heater:
            flexible += 365 * 2.0
        return max(self.annual_kwh - flexible, 0.3 * self.annual_kwh)

    @property
    def meter_kinds(self) -> tuple[str, ...]:
        kinds = ["grid"]
        if self.pv_peak_w > 0:
            kinds.append("pv")
        if self.battery is not None:
            kinds.append("battery")
        if self.ev is not None:
            kinds.append("ev")
        return tuple(kinds)


def home_id_of(seed: int, index: int) -> str:
    """16 hex digits like the store's own ids; sorting them sorts the homes by index."""
    return f"{seed % 2**32:08x}{index:08x}"


def draw_population(config: SimConfig) -> list[HomeSpec]:
    rng = np.random.default_rng([config.seed, 0])
    mix = config.mix
    n = config.homes
    order = rng.permutation(n)
    pv_homes = set(order[: round(n * mix.pv_share)].tolist())
    # Batteries go to PV homes first, then to the others if there are more batteries than PV.
    battery_pool = [i for i in order.tolist() if i in pv_homes] + [
        i for i in order.tolist() if i not in pv_homes
    ]
    battery_homes = set(battery_pool[: round(n * mix.battery_share)])
    ev_homes = set(rng.permutation(n)[: round(n * mix.ev_share)].tolist())
    homes = []
    for i in range(n):
        homes.append(
            _draw_home(
                config.seed,
                i,
                mix,
                i in pv_homes,
                i in battery_homes,
                i in ev_homes,
                np.random.default_rng([config.seed, 1, i]),
            )
        )
    return homes


def _draw_home(
    seed: int,
    index: int,
    mix: Mix,
    has_pv: bool,
    has_battery: bool,
    has_ev: bool,
    rng: np.random.Generator,
) -> HomeSpec:
    annual = float(
        np.clip(mix.annual_kwh_median * rng.lognormal(0.0, mix.annual_kwh_sigma), 1_500.0, 9_000.0)
    )
    peak = float(rng.uniform(*mix.pv_kwp)) * 1000 if has_pv else 0.0
    battery = None
    if has_battery:
        capacity = float(rng.choice(mix.battery_kwh)) * 1000
        battery = BatterySpec(capacity, min(capacity * 0.5, 5_000.0), mix.battery_wear_per_kwh)
    ev = None
    if has_ev:
        ev = EVSpec(float(rng.choice(mix.ev_kwh)) * 1000, float(rng.choice(mix.ev_charger_w)))
    return HomeSpec(
        index=index,
        home_id=home_id_of(seed, index),
        annual_kwh=annual,
        pv_peak_w=round(peak, -1),
        pv_tilt=float(rng.uniform(20.0, 40.0)),
        pv_azimuth=float(rng.uniform(135.0, 225.0)),
        battery=battery,
        ev=ev,
        water_heater=bool(rng.random() < mix.water_heater_share),
        retires_green=has_ev and bool(rng.random() < mix.green_retirer_share),
    )


def grid_limit_w(_home: HomeSpec) -> float:
    return GRID_LIMIT_W
