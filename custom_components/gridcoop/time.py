"""When the EV has to be charged by (its next departure)."""

from __future__ import annotations

import contextlib
from datetime import time

from homeassistant.components.time import TimeEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import EV_CHARGER
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopEntity
from .planning import DEFAULT_DEPARTURE

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    for device in entry.runtime_data.devices.values():
        if device.kind == EV_CHARGER:
            async_add_entities(
                [DepartureTime(entry, device)], config_subentry_id=device.subentry_id
            )


class DepartureTime(GridCoopEntity, TimeEntity, RestoreEntity):
    _attr_translation_key = "ev_departure"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: GridCoopConfigEntry, device: DeviceConfig) -> None:
        super().__init__(entry, "ev_departure", device)
        self._attr_native_value = DEFAULT_DEPARTURE

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None:
            with contextlib.suppress(ValueError):  # unknown/unavailable: keep the default
                self._attr_native_value = time.fromisoformat(last.state)
        self._store()

    def _store(self) -> None:
        assert self.device is not None and self._attr_native_value is not None
        self.runtime.settings.ev_departure[self.device.subentry_id] = self._attr_native_value

    async def async_set_value(self, value: time) -> None:
        self._attr_native_value = value
        self._store()
        self.async_write_ha_state()
        self.runtime.loop.request_replan()
