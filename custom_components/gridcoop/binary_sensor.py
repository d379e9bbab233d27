"""Per controllable device: "changed by hand", while automatic dispatch leaves it alone."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SETPOINT_ENTITY, CONF_SWITCH_ENTITY, SIGNAL_OVERRIDE
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    for device in entry.runtime_data.devices.values():
        if device.get(CONF_SWITCH_ENTITY) or device.get(CONF_SETPOINT_ENTITY):
            async_add_entities(
                [ManualOverride(entry, device)], config_subentry_id=device.subentry_id
            )


class ManualOverride(GridCoopEntity, BinarySensorEntity):
    _attr_translation_key = "manual_override"
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, entry: GridCoopConfigEntry, device: DeviceConfig) -> None:
        super().__init__(entry, "manual_override", device)

    @property
    def _override(self) -> Any:
        assert self.device is not None
        tracker = self.runtime.dispatcher.overrides
        if not tracker.is_paused(self.device.subentry_id):
            return None
        return tracker.active.get(self.device.subentry_id)

    @property
    def is_on(self) -> bool:
        return self._override is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        override = self._override
        if override is None:
            return {}
        until = override.until.isoformat() if override.until is not None else None
        return {"since": override.since.isoformat(), "until": until}

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        assert self.device is not None
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, SIGNAL_OVERRIDE.format(self.device.subentry_id), self._changed
            )
        )

    @callback
    def _changed(self) -> None:
        self.async_write_ha_state()
