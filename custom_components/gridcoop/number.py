"""Numbers the household sets: daily spending cap, battery reserve and end-of-horizon target,
discomfort price per load."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberEntityDescription,
    NumberMode,
    RestoreNumber,
)
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import BATTERY, CONF_CURRENCY, FLEXIBLE_LOAD
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopEntity
from .settings import Settings

PARALLEL_UPDATES = 0

Setter = Callable[[Settings, str, float], None]


@dataclass(frozen=True, kw_only=True)
class SettingNumberDescription(NumberEntityDescription):
    default: float
    setter: Setter


def _set_cap(settings: Settings, _: str, value: float) -> None:
    settings.daily_cap = value


def _set_reserve(settings: Settings, sub_id: str, value: float) -> None:
    settings.battery_reserve_pct[sub_id] = value


def _set_end_target(settings: Settings, sub_id: str, value: float) -> None:
    settings.battery_end_target_pct[sub_id] = value


def _set_discomfort(settings: Settings, sub_id: str, value: float) -> None:
    settings.discomfort[sub_id] = value


DAILY_CAP = SettingNumberDescription(
    key="daily_spending_cap",
    translation_key="daily_spending_cap",
    native_min_value=0,
    native_max_value=1000,
    native_step=0.5,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
    default=0,
    setter=_set_cap,
)
BATTERY_RESERVE = SettingNumberDescription(
    key="battery_reserve",
    translation_key="battery_reserve",
    native_min_value=0,
    native_max_value=100,
    native_step=1,
    native_unit_of_measurement=PERCENTAGE,
    entity_category=EntityCategory.CONFIG,
    default=10,
    setter=_set_reserve,
)
# The state of charge the plan leaves at the end of its 24 h horizon (0 = no target): soft, the
# plan reports a violation when the battery cannot get there.
BATTERY_END_TARGET = SettingNumberDescription(
    key="battery_end_target",
    translation_key="battery_end_target",
    native_min_value=0,
    native_max_value=100,
    native_step=1,
    native_unit_of_measurement=PERCENTAGE,
    entity_category=EntityCategory.CONFIG,
    default=0,
    setter=_set_end_target,
)
DISCOMFORT = SettingNumberDescription(
    key="discomfort_price",
    translation_key="discomfort_price",
    native_min_value=0,
    native_max_value=10,
    native_step=0.01,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
    default=0.1,
    setter=_set_discomfort,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    currency = entry.data.get(CONF_CURRENCY, "EUR")
    async_add_entities([SettingNumber(entry, DAILY_CAP, None, currency)])
    per_kind = {BATTERY: (BATTERY_RESERVE, BATTERY_END_TARGET), FLEXIBLE_LOAD: (DISCOMFORT,)}
    for device in entry.runtime_data.devices.values():
        descriptions = per_kind.get(device.kind, ())
        if descriptions:
            async_add_entities(
                [SettingNumber(entry, d, device, f"{currency}/h") for d in descriptions],
                config_subentry_id=device.subentry_id,
            )


class SettingNumber(GridCoopEntity, RestoreNumber):
    entity_description: SettingNumberDescription

    def __init__(
        self,
        entry: GridCoopConfigEntry,
        description: SettingNumberDescription,
        device: DeviceConfig | None,
        unit: str,
    ) -> None:
        super().__init__(entry, description.key, device)
        self.entity_description = description
        if description.native_unit_of_measurement is None:
            self._attr_native_unit_of_measurement = unit
        self._attr_native_value = description.default

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        last = await self.async_get_last_number_data()
        if last is not None and last.native_value is not None:
            self._attr_native_value = last.native_value
        self._store(self._attr_native_value or 0.0)

    def _store(self, value: float) -> None:
        sub_id = self.device.subentry_id if self.device else ""
        self.entity_description.setter(self.runtime.settings, sub_id, value)

    async def async_set_native_value(self, value: float) -> None:
        self._attr_native_value = value
        self._store(value)
        self.async_write_ha_state()
        self.runtime.loop.request_replan()
