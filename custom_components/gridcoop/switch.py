"""Switches: take part in the market (home) and automatic dispatch (per controllable device)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import STATE_ON, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import BATTERY, EV_CHARGER, FLEXIBLE_LOAD, PV
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopEntity

PARALLEL_UPDATES = 0
CONTROLLABLE = (PV, BATTERY, EV_CHARGER, FLEXIBLE_LOAD)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    runtime = entry.runtime_data
    if runtime.hub is not None:
        async_add_entities([ParticipateSwitch(entry)])
    for device in runtime.devices.values():
        if device.kind in CONTROLLABLE:
            async_add_entities(
                [AutoDispatchSwitch(entry, device)], config_subentry_id=device.subentry_id
            )


class _RestoredSwitch(GridCoopEntity, SwitchEntity, RestoreEntity):
    _default = False

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        self._set(last.state == STATE_ON if last is not None else self._default)

    def _set(self, on: bool) -> None:
        self._attr_is_on = on

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._change(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._change(False)

    async def _change(self, on: bool) -> None:
        self._set(on)
        self.async_write_ha_state()
        self.runtime.loop.request_replan()


class ParticipateSwitch(_RestoredSwitch):
    _attr_translation_key = "participate"
    _default = True

    def __init__(self, entry: GridCoopConfigEntry) -> None:
        super().__init__(entry, "participate")

    def _set(self, on: bool) -> None:
        super()._set(on)
        self.runtime.settings.participate = on


class AutoDispatchSwitch(_RestoredSwitch):
    """Off by default: GridCoop only switches devices once the household has said so."""

    _attr_translation_key = "auto_dispatch"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: GridCoopConfigEntry, device: DeviceConfig) -> None:
        super().__init__(entry, "auto_dispatch", device)

    def _set(self, on: bool) -> None:
        super()._set(on)
        assert self.device is not None
        self.runtime.settings.auto_dispatch[self.device.subentry_id] = on

    async def _change(self, on: bool) -> None:
        self._set(on)
        self.async_write_ha_state()
        if on:
            self.runtime.loop.dispatch_again()
        else:
            self.runtime.loop.request_replan()
