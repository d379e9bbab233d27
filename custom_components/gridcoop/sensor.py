"""Sensors: market prices and money (hub), the recommended action, and Modbus device readings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gridcoop_home.client.ledger import Account
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .book import AllocationBook
from .const import BATTERY, CONF_CURRENCY, DOMAIN, GRID_METER, PV
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopCoordinatorEntity
from .home import HomeCoordinator, HomeState, recommended_action
from .ledger import LedgerCoordinator
from .market import MarketCoordinator, MarketData
from .money import MINOR_PER_MAJOR, money_major, price_major
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
class HomeSensorDescription(SensorEntityDescription):
    value_fn: Callable[[HomeState], Any]


RECOMMENDED_ACTION = HomeSensorDescription(
    key="recommended_action",
    translation_key="recommended_action",
    device_class=SensorDeviceClass.ENUM,
    options=ACTIONS,
    value_fn=lambda s: recommended_action(s.plan),
)
BACKLOG = HomeSensorDescription(
    key="reading_backlog",
    translation_key="reading_backlog",
    entity_category=EntityCategory.DIAGNOSTIC,
    state_class=SensorStateClass.MEASUREMENT,
    value_fn=lambda s: s.backlog,
)


@dataclass(frozen=True, kw_only=True)
class DeviceSensorDescription(SensorEntityDescription):
    value_fn: Callable[[DeviceSnapshot], float | None]


POWER = DeviceSensorDescription(
    key="power",
    device_class=SensorDeviceClass.POWER,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfPower.WATT,
    value_fn=lambda s: s.power_w,
)


def _energy(
    key: str, value_fn: Callable[[DeviceSnapshot], float | None]
) -> DeviceSensorDescription:
    return DeviceSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        value_fn=value_fn,
    )


MODBUS_SENSORS: dict[str, tuple[DeviceSensorDescription, ...]] = {
    PV: (POWER, _energy("energy_produced", lambda s: s.export_wh)),
    GRID_METER: (
        POWER,
        _energy("energy_imported", lambda s: s.import_wh),
        _energy("energy_exported", lambda s: s.export_wh),
    ),
    BATTERY: (
        POWER,
        DeviceSensorDescription(
            key="soc",
            device_class=SensorDeviceClass.BATTERY,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=PERCENTAGE,
            value_fn=lambda s: s.soc_pct,
        ),
    ),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    runtime = entry.runtime_data
    home_entities: list[SensorEntity] = [HomeSensor(runtime.home, entry, RECOMMENDED_ACTION)]
    if runtime.market is not None:
        currency = entry.data.get(CONF_CURRENCY, "EUR")
        home_entities.append(HomeSensor(runtime.home, entry, BACKLOG))
        ledger = runtime.ledger
        # With a ledger the settled balance replaces the allocation-derived one; without one
        # (or before the hub said), the allocations are all the home knows.
        settled = ledger is not None and ledger.enabled is True
        home_entities.extend(
            MarketSensor(runtime.market, entry, description, currency)
            for description in MARKET_SENSORS
            if not (settled and description.key == ALLOCATION_BALANCE)
        )
        if settled:
            _forget(hass, f"{entry.entry_id}_{ALLOCATION_BALANCE}")
        if ledger is not None and ledger.enabled is not False:
            home_entities.extend(
                LedgerSensor(ledger, entry, description, currency) for description in LEDGER_SENSORS
            )
    async_add_entities(home_entities)
    for device in runtime.devices.values():
        if device.is_modbus:
            async_add_entities(
                [
                    DeviceSensor(runtime.home, entry, description, device)
                    for description in MODBUS_SENSORS.get(device.kind, ())
                ],
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
        return self.entity_description.value_fn(self.coordinator.data, self.coordinator.book)


class HomeSensor(GridCoopCoordinatorEntity[HomeCoordinator], SensorEntity):
    entity_description: HomeSensorDescription

    def __init__(
        self,
        coordinator: HomeCoordinator,
        entry: GridCoopConfigEntry,
        description: HomeSensorDescription,
    ) -> None:
        super().__init__(coordinator, entry, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> Any:
        if self.coordinator.data is None:
            return None  # entities are added before the home's first refresh
        return self.entity_description.value_fn(self.coordinator.data)


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
        if self.coordinator.data is None or self.device is None:
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
