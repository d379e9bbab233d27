"""Runtime data kept on the config entry while it is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from gridcoop_home.client.hub import HubClient
from homeassistant.config_entries import ConfigEntry

from .book import AllocationBook
from .devices import DeviceConfig
from .dispatch import Dispatcher
from .home import HomeCoordinator
from .ledger import LedgerCoordinator
from .market import MarketCoordinator
from .metering import Metering
from .settings import Settings
from .sources import SunSpecPool
from .stream import HubStream


@dataclass
class GridCoopRuntime:
    home: HomeCoordinator
    settings: Settings
    devices: dict[str, DeviceConfig]
    dispatcher: Dispatcher
    pool: SunSpecPool
    home_device_id: str
    client: HubClient | None = None
    market: MarketCoordinator | None = None
    ledger: LedgerCoordinator | None = None
    book: AllocationBook | None = None
    metering: Metering | None = None
    stream: HubStream | None = None


type GridCoopConfigEntry = ConfigEntry[GridCoopRuntime]
