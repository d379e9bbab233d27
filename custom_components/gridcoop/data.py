"""Runtime data kept on the config entry while it is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .coordinator import HomeCoordinator
from .devices import DeviceConfig
from .dispatch import Dispatcher
from .hub_link import HubLink
from .loop import HomeLoop
from .settings import Settings
from .sources import SunSpecPool


@dataclass
class GridCoopRuntime:
    home: HomeCoordinator
    loop: HomeLoop
    settings: Settings
    devices: dict[str, DeviceConfig]
    dispatcher: Dispatcher
    pool: SunSpecPool
    home_device_id: str
    hub: HubLink | None = None  # None: an island home


type GridCoopConfigEntry = ConfigEntry[GridCoopRuntime]
