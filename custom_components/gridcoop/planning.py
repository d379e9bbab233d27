"""Build the planner's request from the home as Home Assistant sees it.

The planner (gridcoop_home.planner) is Home Assistant free and plans in 15-minute slots; this
module only
translates devices, readings, settings and prices into its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from gridcoop_home.planner import (
    EV,
    Battery,
    DeferrableLoad,
    EndOfHorizon,
    History,
    Plan,
    PlanRequest,
    Profile,
    Site,
    Strategy,
    Tariffs,
)
from gridcoop_home.protocol.bids import BidCurves
from gridcoop_home.protocol.grid_limit import GridLimit
from homeassistant.util import dt as dt_util

from .const import (
    BATTERY,
    CONF_CAPACITY_KWH,
    CONF_DURATION_MIN,
    CONF_LOAD_POWER_W,
    CONF_MAX_POWER_KW,
    CONF_PEAK_KW,
    CONF_TARGET_SOC,
    EV_CHARGER,
    FLEXIBLE_LOAD,
    PV,
)
from .devices import DeviceConfig
from .money import major_to_minor
from .settings import Settings
from .sources import DeviceSnapshot

SLOT = timedelta(minutes=15)
HORIZON_SLOTS = 96  # 24 h
DEFAULT_SOC_PCT = 50.0
DEFAULT_DEPARTURE = time(7, 0)


@dataclass(frozen=True, slots=True)
class TariffSlot:
    start: int  # UTC seconds
    retail: float  # minor units per kWh
    feed_in: float


def slot_floor(when: datetime) -> datetime:
    when = when.astimezone(UTC)
    return when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)


def slot_ceil(when: datetime) -> datetime:
    """The first slot start at or after `when`: "not before 16:05" must not start at 16:00."""
    floor = slot_floor(when)
    return floor if floor == when else floor + SLOT


def _price_at(tariffs: Sequence[TariffSlot], when: datetime) -> TariffSlot:
    stamp = when.timestamp()
    current = tariffs[0]
    for slot in tariffs:
        if slot.start <= stamp:
            current = slot
    return current


def _first(devices: Mapping[str, DeviceConfig], kind: str) -> DeviceConfig | None:
    return next((d for d in devices.values() if d.kind == kind), None)


def _next_departure(start: datetime, departure: time) -> datetime:
    local = dt_util.as_local(start)
    candidate = local.replace(hour=departure.hour, minute=departure.minute, second=0, microsecond=0)
    if candidate <= local + SLOT:
        candidate += timedelta(days=1)
    return candidate


def build_request(
    *,
    start: datetime,
    devices: Mapping[str, DeviceConfig],
    snapshots: Mapping[str, DeviceSnapshot],
    settings: Settings,
    tariffs: Sequence[TariffSlot],
    clearing_history: Sequence[tuple[datetime, float]],
    island: bool,
    grid_limit_w: float,
    latitude: float,
    longitude: float,
    base_load_history: Sequence[tuple[datetime, float]] = (),
    retail: Sequence[float] | None = None,
    pv_forecast_w: Sequence[float] | None = None,
    carbon_g_per_kwh: Sequence[float] | None = None,
    grid_limits: Sequence[GridLimit | None] = (),
) -> PlanRequest:
    """`retail` (the home's own price entity) replaces the tariff's import price per slot;
    `pv_forecast_w` and `carbon_g_per_kwh` replace the planner's models (plan_inputs.py)."""
    times = [start + i * SLOT for i in range(HORIZON_SLOTS)]
    prices = [_price_at(tariffs, t) for t in times]
    buy = [p.retail for p in prices] if retail is None else [float(v) for v in retail]
    pv_peak = sum(float(d.get(CONF_PEAK_KW, 0)) for d in devices.values() if d.kind == PV)
    return PlanRequest(
        start=start,
        slots=HORIZON_SLOTS,
        site=Site(
            grid_limit_w=grid_limit_w,
            latitude=latitude,
            longitude=longitude,
            pv_peak_w=pv_peak * 1000,
        ),
        tariffs=Tariffs(
            retail=buy,
            feed_in=[min(p.feed_in, r) for p, r in zip(prices, buy, strict=True)],
            carbon_g_per_kwh=carbon_g_per_kwh,
        ),
        battery=_battery(devices, snapshots, settings),
        ev=_ev(devices, snapshots, settings, start),
        loads=tuple(
            _load(d, snapshots.get(d.subentry_id), settings, start, times[-1] + SLOT)
            for d in devices.values()
            if d.kind == FLEXIBLE_LOAD
        ),
        pv_forecast_w=pv_forecast_w,
        history=History(
            base_load_w=tuple(base_load_history), clearing_prices=tuple(clearing_history)
        ),
        grid_limits=tuple(grid_limits),
        strategy=Strategy(
            profile=Profile(settings.profile),
            # stable_bill keeps the month near a budget: the daily cap times 30.
            monthly_budget=major_to_minor(settings.daily_cap) * 30,
        ),
        island=island,
        end_of_horizon=_end_of_horizon(devices, settings),
    )


def _end_of_horizon(devices: Mapping[str, DeviceConfig], settings: Settings) -> EndOfHorizon:
    """The battery's charge target at the end of the horizon; 0 % (the default) sets none."""
    device = _first(devices, BATTERY)
    pct = settings.battery_end_target_pct.get(device.subentry_id, 0.0) if device else 0.0
    target = min(max(pct, 0.0), 100.0) / 100
    return EndOfHorizon(soc_target=target if target > 0 else None)


def _battery(
    devices: Mapping[str, DeviceConfig],
    snapshots: Mapping[str, DeviceSnapshot],
    settings: Settings,
) -> Battery | None:
    device = _first(devices, BATTERY)
    if device is None:
        return None
    capacity = float(device.get(CONF_CAPACITY_KWH, 10)) * 1000
    power = float(device.get(CONF_MAX_POWER_KW, 5)) * 1000
    snap = snapshots.get(device.subentry_id)
    soc_pct = snap.soc_pct if snap and snap.soc_pct is not None else DEFAULT_SOC_PCT
    reserve_pct = settings.battery_reserve_pct.get(device.subentry_id, 10.0)
    return Battery(
        capacity_wh=capacity,
        max_charge_w=power,
        max_discharge_w=power,
        soc_wh=capacity * min(max(soc_pct, 0.0), 100.0) / 100,
        reserve_wh=capacity * reserve_pct / 100,
    )


def _ev(
    devices: Mapping[str, DeviceConfig],
    snapshots: Mapping[str, DeviceSnapshot],
    settings: Settings,
    start: datetime,
) -> EV | None:
    device = _first(devices, EV_CHARGER)
    if device is None:
        return None
    capacity = float(device.get(CONF_CAPACITY_KWH, 60)) * 1000
    snap = snapshots.get(device.subentry_id)
    soc_pct = snap.soc_pct if snap and snap.soc_pct is not None else DEFAULT_SOC_PCT
    departure = settings.ev_departure.get(device.subentry_id, DEFAULT_DEPARTURE)
    return EV(
        capacity_wh=capacity,
        soc_wh=capacity * soc_pct / 100,
        target_wh=capacity * float(device.get(CONF_TARGET_SOC, 80)) / 100,
        departure=_next_departure(start, departure),
        max_charge_w=float(device.get(CONF_MAX_POWER_KW, 11)) * 1000,
    )


def _load(
    device: DeviceConfig,
    snap: DeviceSnapshot | None,
    settings: Settings,
    start: datetime,
    horizon_end: datetime,
) -> DeferrableLoad:
    earliest = max(start, slot_ceil(settings.deferred_until.get(device.subentry_id, start)))
    earliest = min(earliest, horizon_end - SLOT)
    return DeferrableLoad(
        id=device.load_id,
        power_w=float(device.get(CONF_LOAD_POWER_W, 1000)),
        earliest_start=earliest,
        latest_finish=horizon_end,
        duration_min=float(device.get(CONF_DURATION_MIN, 60)),
        discomfort_per_hour=major_to_minor(settings.discomfort.get(device.subentry_id, 0.1)),
        running=bool(snap and snap.is_on),
    )


def cap_buying(curves: BidCurves) -> BidCurves:
    """Daily spending cap reached: keep selling, stop buying on the market (the devices' energy
    follows the same rule: no buy step fills)."""
    return BidCurves(buy=(), sell=curves.sell, baseline=curves.baseline)


def plan_energies(
    result: Plan, devices: Mapping[str, DeviceConfig]
) -> tuple[dict[str, int], dict[str, int]]:
    """The plan's first slot as device energies (Wh, + takes, - supplies) by bid asset tag, and
    the PV energy it curtails: what an island home dispatches."""
    s = result.schedule
    energies: dict[str, int] = {}
    curtailed: dict[str, int] = {}
    for device in devices.values():
        if device.asset is None:
            continue
        if device.kind == BATTERY:
            energies[device.asset] = round((s.battery_charge_w[0] - s.battery_discharge_w[0]) / 4)
        elif device.kind == EV_CHARGER:
            energies[device.asset] = round(s.ev_charge_w[0] / 4)
        elif device.kind == FLEXIBLE_LOAD:
            energies[device.asset] = round(s.loads_w.get(device.load_id, (0.0,))[0] / 4)
        elif device.kind == PV:
            energies[device.asset] = -round(s.pv_used_w[0] / 4)
            curtailed[device.asset] = round(s.pv_curtailed_w[0] / 4)
    return energies, curtailed
