"""Events: a device's dispatch command when it changes, and each newly cleared market interval."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import BATTERY, EV_CHARGER, FLEXIBLE_LOAD, PV, SIGNAL_DISPATCH
from .coordinator import MarketCoordinator
from .data import GridCoopConfigEntry
from .devices import DeviceConfig
from .entity import GridCoopCoordinatorEntity, GridCoopEntity
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
    hub = entry.runtime_data.hub
    if hub is not None:
        async_add_entities([MarketClearedEvent(hub.market, entry)])
    for device in entry.runtime_data.devices.values():
        if device.kind in ACTIONS_BY_KIND:
            async_add_entities(
                [DispatchEvent(entry, device)], config_subentry_id=device.subentry_id
            )


class DispatchEvent(GridCoopEntity, EventEntity):
    """Fires when what the device is told changes (dispatch.py decides), with the power, the
    energy, why, and whether it was carried out (`applied`, read back from the device)."""

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
                key: command[key]
                for key in (
                    "power_w",
                    "energy_wh",
                    "reason",
                    "interval_start",
                    "applied",
                    "not_applied_because",
                )
            },
        )
        self.async_write_ha_state()


class MarketClearedEvent(GridCoopCoordinatorEntity[MarketCoordinator], EventEntity):
    """Fires once per newly cleared interval, whether it arrived by push or by poll."""

    _attr_translation_key = "market_cleared"

    def __init__(self, coordinator: MarketCoordinator, entry: GridCoopConfigEntry) -> None:
        super().__init__(coordinator, entry, "market_cleared")
        self._attr_event_types = ["cleared"]
        data = coordinator.data
        self._latest = max(data.intervals, default=0) if data is not None else 0

    @property
    def available(self) -> bool:
        return True  # an event that fired stays true when the hub is away

    @callback
    def _handle_coordinator_update(self) -> None:
        data = self.coordinator.data
        if data is None or not data.intervals or max(data.intervals) <= self._latest:
            return
        self._latest = max(data.intervals)
        interval = data.intervals[self._latest]
        self._trigger_event(
            "cleared",
            {
                "interval_start": interval.interval_start,
                "price": price_major(interval.price),
                "volume_wh": interval.volume_wh,
                "participants": interval.participants,
            },
        )
        self.async_write_ha_state()
