"""Base entities: GridCoop's own devices (the home, and one per configured physical device)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import CONF_MODE, CONF_URL, DEVICE_KINDS, DOMAIN, MODE_HUB
from .data import GridCoopConfigEntry
from .devices import DeviceConfig

HOME_ON_HUB, ISLAND_HOME = "home_on_hub", "island_home"
# Device models in the owner's language (strings.json "device"), read once at setup.
_MODELS: dict[str, str] = {}


async def async_device_models(hass: HomeAssistant) -> None:
    """Load the device models in Home Assistant's language (device registry models are plain
    text, so they are translated here, from the integration's own "device" strings)."""
    strings = await translation.async_get_translations(
        hass, hass.config.language, "device", {DOMAIN}
    )
    for kind in (*DEVICE_KINDS, HOME_ON_HUB, ISLAND_HOME):
        key = f"component.{DOMAIN}.device.{kind}.name"
        _MODELS[kind] = strings.get(key, kind.replace("_", " ").capitalize())


def model_of(kind: str) -> str:
    return _MODELS.get(kind, kind.replace("_", " ").capitalize())


def home_device_info(entry: GridCoopConfigEntry) -> DeviceInfo:
    hub = entry.data[CONF_MODE] == MODE_HUB
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="GridCoop",
        model=model_of(HOME_ON_HUB if hub else ISLAND_HOME),
        configuration_url=entry.data.get(CONF_URL) if hub else None,
    )


def device_device_info(home_device_id: str, device: DeviceConfig) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, device.subentry_id)},
        name=device.title,
        manufacturer="GridCoop",
        model=model_of(device.kind),
        via_device_id=home_device_id,
    )


class GridCoopEntity(Entity):
    """An entity of the home device, or of a configured device when `device` is given."""

    _attr_has_entity_name = True

    def __init__(
        self, entry: GridCoopConfigEntry, key: str, device: DeviceConfig | None = None
    ) -> None:
        self.entry = entry
        self.runtime = entry.runtime_data
        self.device = device
        owner = device.subentry_id if device else entry.entry_id
        self._attr_unique_id = f"{owner}_{key}"
        self._attr_device_info = (
            device_device_info(self.runtime.home_device_id, device)
            if device
            else home_device_info(entry)
        )


class GridCoopCoordinatorEntity[T: DataUpdateCoordinator[Any]](
    GridCoopEntity, CoordinatorEntity[T]
):
    def __init__(
        self,
        coordinator: T,
        entry: GridCoopConfigEntry,
        key: str,
        device: DeviceConfig | None = None,
    ) -> None:
        CoordinatorEntity.__init__(self, coordinator)
        GridCoopEntity.__init__(self, entry, key, device)
