"""Events: each dispatch command for a device, and each cleared market interval."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import BATTERY, EV_CHARGER, FLEXIBLE_LOAD, PV, SIGNAL_CLEARED, SIGNAL_DISPATCH
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopEntity
from .money import price_major

PARALLEL_UPDATES = 0

# What a device can be told to do (gridcoop_home.protocol.dispatch), per kind.
ACTIONS_BY_KIND = {
    BATTERY: ["charge", "discharge", "idle"],
    EV_CHARGER: ["charge", "pause"],
    PV: ["export", "curtail"],
    FLEXIBLE_LOAD: ["start", "defer"],
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    if entry.runtime_data.market is not None:
        async_add_entities([MarketClearedEvent(entry)])
    for device in entry.runtime_data.devices.values():
        if device.kind in ACTIONS_BY_KIND:
            async_add_entities(
                [DispatchEvent(entry, device)], config_subentry_id=device.subentry_id
            )


class DispatchEvent(GridCoopEntity, EventEntity):
    _attr_translation_key = "dispatch"

    def __init__(self, entry: GridCoopConfigEntry, device: DeviceConfig) -> None:
        super().__init__(entry, "dispatch", device)
        self._attr_event_types = ACTIONS_BY_KIND[device.kind]

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        assert self.device is not None
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, SIGNAL_DISPATCH.format(self.device.subentry_id), self._on_command
            )
        )

    @callback
    def _on_command(self, command: dict[str, Any]) -> None:
        if command["action"] not in self.event_types:
            return
        self._trigger_event(
            command["action"],
            {
                "power_w": command["power_w"],
                "energy_wh": command["energy_wh"],
                "reason": command["reason"],
                "interval_start": command["interval_start"],
                "applied": command["applied"],
            },
        )
        self.async_write_ha_state()


class MarketClearedEvent(GridCoopEntity, EventEntity):
    _attr_translation_key = "market_cleared"

    def __init__(self, entry: GridCoopConfigEntry) -> None:
        super().__init__(entry, "market_cleared")
        self._attr_event_types = ["cleared"]

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, SIGNAL_CLEARED.format(self.entry.entry_id), self._on_cleared
            )
        )

    @callback
    def _on_cleared(self, interval: dict[str, Any]) -> None:
        self._trigger_event(
            "cleared",
            {
                "interval_start": interval["interval_start"],
                "price": price_major(interval.get("price")),
                "volume_wh": interval.get("volume_wh"),
                "participants": interval.get("participants"),
            },
        )
        self.async_write_ha_state()
