"""A configured physical device (one config subentry), read into a typed, immutable view."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigSubentry

from .const import (
    BATTERY,
    CONF_ALLOW_WRITES,
    CONF_SOURCE,
    DEVICE_KINDS,
    EV_CHARGER,
    FLEXIBLE_LOAD,
    GRID_METER,
    PV,
    SOURCE_MODBUS,
)

# The hub meter each device kind feeds; flexible loads have no meter of their own.
METER_OF_KIND = {PV: "pv", BATTERY: "battery", EV_CHARGER: "ev", GRID_METER: "grid"}


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    subentry_id: str
    kind: str
    title: str
    data: MappingProxyType[str, Any]

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> DeviceConfig:
        return cls(subentry.subentry_id, subentry.subentry_type, subentry.title, subentry.data)

    @property
    def is_modbus(self) -> bool:
        return self.data.get(CONF_SOURCE) == SOURCE_MODBUS

    @property
    def allow_writes(self) -> bool:
        return bool(self.data.get(CONF_ALLOW_WRITES, False))

    @property
    def meter_kind(self) -> str | None:
        return METER_OF_KIND.get(self.kind)

    @property
    def load_id(self) -> str:
        # Subentry ids are lowercase-able ULIDs: stable, unique and valid in a bid's asset tag.
        return self.subentry_id.lower()

    @property
    def asset(self) -> str | None:
        """The bid asset tag the hub uses in dispatch commands for this device."""
        return {
            PV: "pv",
            BATTERY: "battery",
            EV_CHARGER: "ev",
            FLEXIBLE_LOAD: f"load:{self.load_id}",
        }.get(self.kind)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def devices_of(subentries: dict[str, ConfigSubentry]) -> dict[str, DeviceConfig]:
    return {
        sub_id: DeviceConfig.from_subentry(sub)
        for sub_id, sub in subentries.items()
        if sub.subentry_type in DEVICE_KINDS
    }
