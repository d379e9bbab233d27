"""The planner's request from the agent's configuration, the home's state and the hub's market.

The same translation the Home Assistant integration makes (custom_components/gridcoop/planning.py),
without Home Assistant: 24 hours of 15-minute slots from the interval the home can still bid for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gridcoop_home.agent.config import AgentConfig
from gridcoop_home.agent.state import HomeState
from gridcoop_home.client.models import ClearedInterval, TariffSlot
from gridcoop_home.planner import (
    EV,
    Battery,
    DeferrableLoad,
    History,
    PlanRequest,
    Site,
    Strategy,
    Tariffs,
)

SLOT = timedelta(minutes=15)
HORIZON_SLOTS = 96
DEFAULT_SOC_PCT = 50.0
MINOR_PER_MAJOR = 100


@dataclass(frozen=True, slots=True)
class Market:
    """What the hub said this step: the grid tariffs ahead and the cleared intervals."""

    tariffs: tuple[TariffSlot, ...]
    intervals: tuple[ClearedInterval, ...]


def slot_floor(when: datetime) -> datetime:
    when = when.astimezone(UTC)
    return when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)


def _tariff_at(tariffs: Sequence[TariffSlot], stamp: float) -> TariffSlot:
    current = tariffs[0]
    for slot in tariffs:
        if slot.interval_start <= stamp:
            current = slot
    return current


def build_request(
    config: AgentConfig, state: HomeState, market: Market, start: datetime
) -> PlanRequest:
    if not market.tariffs:
        raise ValueError("the hub sent no tariffs")
    times = [start + i * SLOT for i in range(HORIZON_SLOTS)]
    prices = [_tariff_at(market.tariffs, t.timestamp()) for t in times]
    site = config.site
    history = tuple(
        (datetime.fromtimestamp(i.interval_start, UTC), float(i.price))
        for i in sorted(market.intervals, key=lambda i: i.interval_start)
        if i.price is not None
    )
    end = times[-1] + SLOT
    return PlanRequest(
        start=start,
        slots=HORIZON_SLOTS,
        site=Site(
            grid_limit_w=site.grid_limit_kw * 1000,
            latitude=site.latitude,
            longitude=site.longitude,
            pv_peak_w=config.pv_peak_kw * 1000,
        ),
        tariffs=Tariffs(
            retail=[float(p.retail_price) for p in prices],
            feed_in=[float(min(p.feed_in_price, p.retail_price)) for p in prices],
        ),
        battery=_battery(config, state),
        ev=_ev(config, state, start),
        loads=tuple(
            DeferrableLoad(
                id=load.id,
                power_w=load.power_w,
                earliest_start=start,
                latest_finish=end,
                duration_min=load.duration_min,
                discomfort_per_hour=load.discomfort_per_hour * MINOR_PER_MAJOR,
                running=state.running.get(load.id, False),
            )
            for load in config.loads
        ),
        history=History(clearing_prices=history),
        strategy=Strategy(profile=site.profile),
    )


def _battery(config: AgentConfig, state: HomeState) -> Battery | None:
    battery = config.battery
    if battery is None:
        return None
    capacity = battery.capacity_kwh * 1000
    power = battery.max_power_kw * 1000
    soc = state.soc_pct.get("battery", DEFAULT_SOC_PCT)
    return Battery(
        capacity_wh=capacity,
        max_charge_w=power,
        max_discharge_w=power,
        soc_wh=capacity * soc / 100,
        reserve_wh=capacity * battery.reserve_pct / 100,
    )


def _ev(config: AgentConfig, state: HomeState, start: datetime) -> EV | None:
    ev = config.ev
    if ev is None:
        return None
    capacity = ev.capacity_kwh * 1000
    local = start.astimezone()
    departure = local.replace(
        hour=ev.departure.hour, minute=ev.departure.minute, second=0, microsecond=0
    )
    if departure <= local + SLOT:
        departure += timedelta(days=1)
    return EV(
        capacity_wh=capacity,
        soc_wh=capacity * state.soc_pct.get("ev", DEFAULT_SOC_PCT) / 100,
        target_wh=capacity * ev.target_soc_pct / 100,
        departure=departure,
        max_charge_w=ev.max_power_kw * 1000,
    )
