"""Sensors: market prices and money, the ledger's tokens and settlement, what the home does now,
and each device's power and energy counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gridcoop_home.client.ledger import Account
from gridcoop_home.protocol.grid_limit import GridLimit
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .book import AllocationBook
from .const import (
    BATTERY,
    CONF_CURRENCY,
    CONF_EXPORT_ENERGY_ENTITY,
    CONF_IMPORT_ENERGY_ENTITY,
    CONF_POWER_ENTITY,
    CONF_SOC_ENTITY,
    DOMAIN,
    EV_CHARGER,
    GRID_METER,
    PV,
)
from .coordinator import (
    HomeCoordinator,
    HomeState,
    LedgerCoordinator,
    LedgerData,
    MarketCoordinator,
    MarketData,
)
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopCoordinatorEntity
from .money import MINOR_PER_MAJOR, money_major, price_major
from .price_sensor import ExpectedPrice
from .sources import DeviceSnapshot

PARALLEL_UPDATES = 0  # coordinator-driven: no per-entity polling

ACTIONS = [
    "charge_battery",
    "discharge_battery",
    "charge_ev",
    "run_flexible_loads",
    "export",
    "hold",
]


def _interval_now(data: MarketData, offset: int) -> int:
    now = int(dt_util.utcnow().timestamp())
    seconds = data.interval_seconds
    return now - now % seconds + offset * seconds


def recommended_action(state: HomeState, interval_seconds: int) -> str | None:
    """One word for what the home does now: the dispatch of the interval under way when there
    is one (what the devices were actually told), else the plan's first slot."""
    now = int(dt_util.utcnow().timestamp())
    if state.dispatch and state.dispatch_interval == now - now % interval_seconds:
        actions = {(c.device.split(":")[0], c.action) for c in state.dispatch.values()}
        for key, action in (
            (("battery", "charge"), "charge_battery"),
            (("battery", "discharge"), "discharge_battery"),
            (("ev", "charge"), "charge_ev"),
            (("load", "start"), "run_flexible_loads"),
        ):
            if key in actions:
                return action
        return "hold"
    if state.plan is None:
        return None
    first = state.plan.dispatch
    if first.battery_w > 1:
        return "charge_battery"
    if first.battery_w < -1:
        return "discharge_battery"
    if first.ev_w > 1:
        return "charge_ev"
    if first.loads_on:
        return "run_flexible_loads"
    if first.grid_w < -1:
        return "export"
    return "hold"


@dataclass(frozen=True, kw_only=True)
class MarketSensorDescription(SensorEntityDescription):
    value_fn: Callable[[MarketData, AllocationBook], Any]
    per_kwh: bool = False  # unit is currency/kWh rather than currency


MARKET_SENSORS: tuple[MarketSensorDescription, ...] = (
    MarketSensorDescription(
        key="clearing_price",
        translation_key="clearing_price",
        per_kwh=True,
        suggested_display_precision=3,
        value_fn=lambda d, _: price_major(d.cleared_price(_interval_now(d, 0))),
    ),
    MarketSensorDescription(
        key="next_clearing_price",
        translation_key="next_clearing_price",
        per_kwh=True,
        suggested_display_precision=3,
        value_fn=lambda d, _: price_major(d.cleared_price(_interval_now(d, 1))),
    ),
    MarketSensorDescription(
        key="grid_import_price",
        translation_key="grid_import_price",
        per_kwh=True,
        suggested_display_precision=3,
        value_fn=lambda d, _: price_major(d.grid_prices(_interval_now(d, 0))[0]),
    ),
    MarketSensorDescription(
        key="feed_in_price",
        translation_key="feed_in_price",
        per_kwh=True,
        suggested_display_precision=3,
        value_fn=lambda d, _: price_major(d.grid_prices(_interval_now(d, 0))[1]),
    ),
    MarketSensorDescription(
        key="traded_energy_today",
        translation_key="traded_energy_today",
        device_class=SensorDeviceClass.ENERGY,
        # Grows during the day and drops to 0 at midnight: exactly what total_increasing means.
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        value_fn=lambda _, b: b.today("traded_wh"),
    ),
    MarketSensorDescription(
        key="savings_today",
        translation_key="savings_today",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda _, b: money_major(b.today("savings_mminor")),
    ),
    MarketSensorDescription(
        key="savings_month",
        translation_key="savings_month",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda _, b: money_major(b.this_month_savings()),
    ),
    MarketSensorDescription(
        key="balance",
        translation_key="balance",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=lambda _, b: money_major(b.balance_mminor),
    ),
)


@dataclass(frozen=True, kw_only=True)
class LedgerSensorDescription(SensorEntityDescription):
    value_fn: Callable[[Account], Any]


def _tokens(key: str, value_fn: Callable[[Account], int], **kwargs: Any) -> LedgerSensorDescription:
    return LedgerSensorDescription(
        key=key,
        translation_key=key,
        state_class=kwargs.pop("state_class", SensorStateClass.MEASUREMENT),
        value_fn=value_fn,
        **kwargs,
    )


LEDGER_SENSORS: tuple[LedgerSensorDescription, ...] = (
    _tokens("utility_tokens", lambda a: a.utility_tokens),
    _tokens(
        "utility_tokens_earned",
        lambda a: a.tokens_minted,
        state_class=SensorStateClass.TOTAL_INCREASING,
    ),
    _tokens(
        "utility_tokens_used",
        lambda a: a.tokens_burned,
        state_class=SensorStateClass.TOTAL_INCREASING,
    ),
    _tokens("green_certificates", lambda a: a.green_certificates),
    _tokens("flexibility_tokens", lambda a: a.flex_tokens),
    LedgerSensorDescription(
        key="settled_balance",
        translation_key="settled_balance",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        # The statement's figure: whole minor units, rounded down as the ledger does.
        value_fn=lambda a: a.balance_minor / MINOR_PER_MAJOR,
    ),
)
ALLOCATION_BALANCE = "balance"  # superseded by settled_balance on hubs with a ledger


@dataclass(frozen=True, kw_only=True)
class DeviceSensorDescription(SensorEntityDescription):
    value_fn: Callable[[DeviceSnapshot], float | None]
    source: str  # the entity field it mirrors for a device read from entities


POWER = DeviceSensorDescription(
    key="power",
    source=CONF_POWER_ENTITY,
    device_class=SensorDeviceClass.POWER,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfPower.WATT,
    value_fn=lambda s: s.power_w,
)
SOC = DeviceSensorDescription(
    key="soc",
    source=CONF_SOC_ENTITY,
    device_class=SensorDeviceClass.BATTERY,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=PERCENTAGE,
    value_fn=lambda s: s.soc_pct,
)


def _energy(
    key: str, value_fn: Callable[[DeviceSnapshot], float | None], source: str
) -> DeviceSensorDescription:
    return DeviceSensorDescription(
        key=key,
        source=source,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        value_fn=value_fn,
    )


IMPORTED, EXPORTED = CONF_IMPORT_ENERGY_ENTITY, CONF_EXPORT_ENERGY_ENTITY
# What each device measures, as GridCoop reads it (and, for meters, signs it for the hub):
# Energy-dashboard ready counters, also for devices read from other entities.
DEVICE_SENSORS: dict[str, tuple[DeviceSensorDescription, ...]] = {
    PV: (POWER, _energy("energy_produced", lambda s: s.export_wh, EXPORTED)),
    GRID_METER: (
        POWER,
        _energy("energy_imported", lambda s: s.import_wh, IMPORTED),
        _energy("energy_exported", lambda s: s.export_wh, EXPORTED),
    ),
    BATTERY: (
        POWER,
        SOC,
        _energy("energy_charged", lambda s: s.import_wh, IMPORTED),
        _energy("energy_discharged", lambda s: s.export_wh, EXPORTED),
    ),
    EV_CHARGER: (POWER, _energy("energy_charged", lambda s: s.import_wh, IMPORTED)),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    runtime = entry.runtime_data
    currency = entry.data.get(CONF_CURRENCY, "EUR")
    home_entities: list[SensorEntity] = [
        RecommendedAction(runtime.home, entry),
        ExpectedPrice(runtime.home, entry, currency),
    ]
    hub = runtime.hub
    if hub is not None:
        home_entities.append(Backlog(runtime.home, entry))
        ledger = hub.ledger
        # With a ledger the settled balance replaces the allocation-derived one; without one
        # (or before the hub said), the allocations are all the home knows.
        settled = ledger.enabled is True
        home_entities.append(GridLimitNow(hub.market, entry))
        home_entities.extend(
            MarketSensor(hub.market, entry, description, currency)
            for description in MARKET_SENSORS
            if not (settled and description.key == ALLOCATION_BALANCE)
        )
        if settled:
            _forget(hass, f"{entry.entry_id}_{ALLOCATION_BALANCE}")
        if ledger.enabled is not False:
            home_entities.extend(
                LedgerSensor(ledger, entry, description, currency) for description in LEDGER_SENSORS
            )
            home_entities += [
                LastSettled(ledger, entry),
                SettlementDue(ledger, entry),
                BalanceProof(ledger, entry),
            ]
    async_add_entities(home_entities)
    for device in runtime.devices.values():
        descriptions = [
            d
            for d in DEVICE_SENSORS.get(device.kind, ())
            if device.is_modbus or device.get(d.source)  # what the device actually measures
        ]
        async_add_entities(
            [DeviceSensor(runtime.home, entry, d, device) for d in descriptions],
            config_subentry_id=device.subentry_id,
        )


def _forget(hass: HomeAssistant, unique_id: str) -> None:
    """Drop a sensor this home no longer provides from the entity registry."""
    registry = er.async_get(hass)
    if entity_id := registry.async_get_entity_id("sensor", DOMAIN, unique_id):
        registry.async_remove(entity_id)


class LedgerSensor(GridCoopCoordinatorEntity[LedgerCoordinator], SensorEntity):
    entity_description: LedgerSensorDescription

    def __init__(
        self,
        coordinator: LedgerCoordinator,
        entry: GridCoopConfigEntry,
        description: LedgerSensorDescription,
        currency: str,
    ) -> None:
        super().__init__(coordinator, entry, description.key)
        self.entity_description = description
        if description.device_class is SensorDeviceClass.MONETARY:
            self._attr_native_unit_of_measurement = currency

    @property
    def available(self) -> bool:
        data = self.coordinator.data
        return super().available and data is not None and data.account is not None

    @property
    def native_value(self) -> Any:
        data = self.coordinator.data
        if data is None or data.account is None:
            return None
        return self.entity_description.value_fn(data.account)


class LastSettled(GridCoopCoordinatorEntity[LedgerCoordinator], SensorEntity):
    """When the latest interval the ledger settled for this home began: the settled balance and
    tokens are as of then (unknown until the first settlement)."""

    _attr_translation_key = "last_settled_interval"
    _attr_device_class = SensorDeviceClass.TIMESTAMP

    def __init__(self, coordinator: LedgerCoordinator, entry: GridCoopConfigEntry) -> None:
        super().__init__(coordinator, entry, "last_settled_interval")

    @property
    def native_value(self) -> datetime | None:
        data = self.coordinator.data
        if data is None or data.last_settled is None:
            return None
        return dt_util.utc_from_timestamp(data.last_settled)


PROOF_STATES = ["ok", "pending", "unprovable", "fork", "validator_set_changed"]


class BalanceProof(GridCoopCoordinatorEntity[LedgerCoordinator], SensorEntity):
    """What this home's light client made of the hub's ledger at the last poll: its balance
    proven against the validators' signatures (ok), not final yet (pending), or a doubt (the
    repair issue says why); `reason` has the detail."""

    _attr_translation_key = "balance_proof"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = PROOF_STATES
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, coordinator: LedgerCoordinator, entry: GridCoopConfigEntry) -> None:
        super().__init__(coordinator, entry, "balance_proof")

    @property
    def native_value(self) -> str | None:
        data = self.coordinator.data
        return None if data is None or data.proof not in PROOF_STATES else data.proof

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        data = self.coordinator.data
        return {} if data is None else {"reason": data.proof_reason}


class SettlementDue(GridCoopCoordinatorEntity[LedgerCoordinator], SensorEntity):
    """When the hub settles the oldest traded interval not settled yet (the hub waits for late
    meter readings first): why the settled balance lags the market."""

    _attr_translation_key = "next_settlement"
    _attr_device_class = SensorDeviceClass.TIMESTAMP

    def __init__(self, coordinator: LedgerCoordinator, entry: GridCoopConfigEntry) -> None:
        super().__init__(coordinator, entry, "next_settlement")

    @property
    def native_value(self) -> datetime | None:
        data: LedgerData | None = self.coordinator.data
        hub = self.runtime.hub
        if data is None or hub is None or hub.market.data is None:
            return None
        if data.settlement_deadline_s is None:
            return None
        pending = [s for s in hub.market.data.allocations if s > (data.last_settled or -1)]
        if not pending:
            return None
        end = min(pending) + hub.market.data.interval_seconds
        return dt_util.utc_from_timestamp(end + data.settlement_deadline_s)


class MarketSensor(GridCoopCoordinatorEntity[MarketCoordinator], SensorEntity):
    entity_description: MarketSensorDescription

    def __init__(
        self,
        coordinator: MarketCoordinator,
        entry: GridCoopConfigEntry,
        description: MarketSensorDescription,
        currency: str,
    ) -> None:
        super().__init__(coordinator, entry, description.key)
        self.entity_description = description
        if description.per_kwh:
            self._attr_native_unit_of_measurement = f"{currency}/{UnitOfEnergy.KILO_WATT_HOUR}"
        elif description.device_class is SensorDeviceClass.MONETARY:
            self._attr_native_unit_of_measurement = currency

    @property
    def native_value(self) -> Any:
        hub = self.runtime.hub
        assert hub is not None
        return self.entity_description.value_fn(self.coordinator.data, hub.book)


class GridLimitNow(GridCoopCoordinatorEntity[MarketCoordinator], SensorEntity):
    """The grid operator's limit on the home's import now (kW; unknown when there is none), its
    export limit an attribute: what the hub sent with the interval's allocation (dimming)."""

    _attr_translation_key = "grid_limit_now"
    _attr_device_class = SensorDeviceClass.POWER
    _attr_native_unit_of_measurement = UnitOfPower.KILO_WATT

    def __init__(self, coordinator: MarketCoordinator, entry: GridCoopConfigEntry) -> None:
        super().__init__(coordinator, entry, "grid_limit_now")

    def _limit(self) -> GridLimit | None:
        data = self.coordinator.data
        allocation = data.allocations.get(_interval_now(data, 0)) if data else None
        return allocation.grid_limit if allocation is not None else None

    @property
    def native_value(self) -> float | None:
        limit = self._limit()
        return None if limit is None or limit.import_w is None else limit.import_w / 1000

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        limit = self._limit()
        export = None if limit is None or limit.export_w is None else limit.export_w / 1000
        return {"limited": limit is not None, "export_limit_kw": export}


class RecommendedAction(GridCoopCoordinatorEntity[HomeCoordinator], SensorEntity):
    _attr_translation_key = "recommended_action"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = ACTIONS

    def __init__(self, coordinator: HomeCoordinator, entry: GridCoopConfigEntry) -> None:
        super().__init__(coordinator, entry, "recommended_action")

    @property
    def native_value(self) -> str | None:
        return recommended_action(self.coordinator.data, self.runtime.loop.interval_seconds)


class Backlog(GridCoopCoordinatorEntity[HomeCoordinator], SensorEntity):
    _attr_translation_key = "reading_backlog"
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, coordinator: HomeCoordinator, entry: GridCoopConfigEntry) -> None:
        super().__init__(coordinator, entry, "reading_backlog")

    @property
    def native_value(self) -> int:
        return self.coordinator.data.backlog


class DeviceSensor(GridCoopCoordinatorEntity[HomeCoordinator], SensorEntity):
    entity_description: DeviceSensorDescription

    def __init__(
        self,
        coordinator: HomeCoordinator,
        entry: GridCoopConfigEntry,
        description: DeviceSensorDescription,
        device: DeviceConfig,
    ) -> None:
        super().__init__(coordinator, entry, description.key, device)
        self.entity_description = description

    @property
    def _snapshot(self) -> DeviceSnapshot | None:
        if self.device is None:
            return None
        return self.coordinator.data.snapshots.get(self.device.subentry_id)

    @property
    def available(self) -> bool:
        snap = self._snapshot
        return super().available and snap is not None and snap.online

    @property
    def native_value(self) -> float | None:
        snap = self._snapshot
        return None if snap is None else self.entity_description.value_fn(snap)
