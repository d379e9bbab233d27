"""Read each configured device: from existing Home Assistant entities or over SunSpec Modbus."""

from __future__ import annotations

from dataclasses import dataclass

from gridcoop_home.devices.sunspec import SunSpecDevice, SunSpecError
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.unit_conversion import EnergyConverter, PowerConverter

from .const import (
    BATTERY,
    CONF_EXPORT_ENERGY_ENTITY,
    CONF_HOST,
    CONF_IMPORT_ENERGY_ENTITY,
    CONF_PORT,
    CONF_POWER_ENTITY,
    CONF_SOC_ENTITY,
    CONF_SWITCH_ENTITY,
    CONF_UNIT_ID,
    GRID_METER,
    LOGGER,
    PV,
)
from .devices import DeviceConfig

ENTITY_KEYS = (
    CONF_POWER_ENTITY,
    CONF_IMPORT_ENERGY_ENTITY,
    CONF_EXPORT_ENERGY_ENTITY,
    CONF_SOC_ENTITY,
    CONF_SWITCH_ENTITY,
)


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    """One device at one moment. Energy counters are lifetime totals in Wh.

    `import_wh` is energy into the device (grid import, battery/EV charge), `export_wh` energy out
    of it (grid export, PV production, battery discharge). None = not measured right now.
    """

    power_w: float | None = None
    import_wh: float | None = None
    export_wh: float | None = None
    soc_pct: float | None = None
    is_on: bool | None = None
    online: bool = True
    missing: tuple[str, ...] = ()  # configured source entities that do not exist


def _number(hass: HomeAssistant, entity_id: str | None) -> tuple[float | None, str | None]:
    """(value, unit) of a numeric entity; (None, None) when unknown/unavailable/not a number."""
    if not entity_id or (state := hass.states.get(entity_id)) is None:
        return None, None
    if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None, None
    try:
        return float(state.state), state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    except ValueError:
        return None, None


def _energy_wh(hass: HomeAssistant, entity_id: str | None) -> float | None:
    value, unit = _number(hass, entity_id)
    if value is None:
        return None
    try:
        return EnergyConverter.convert(
            value, unit or UnitOfEnergy.KILO_WATT_HOUR, UnitOfEnergy.WATT_HOUR
        )
    except HomeAssistantError:
        return None  # a unit we cannot convert is as good as no reading


def _power_w(hass: HomeAssistant, entity_id: str | None) -> float | None:
    value, unit = _number(hass, entity_id)
    if value is None:
        return None
    try:
        return PowerConverter.convert(value, unit or UnitOfPower.WATT, UnitOfPower.WATT)
    except HomeAssistantError:
        return None


def read_entities(hass: HomeAssistant, device: DeviceConfig) -> DeviceSnapshot:
    missing = tuple(
        entity_id
        for key in ENTITY_KEYS
        if (entity_id := device.get(key)) and hass.states.get(entity_id) is None
    )
    switch = device.get(CONF_SWITCH_ENTITY)
    switch_state = hass.states.get(switch) if switch else None
    return DeviceSnapshot(
        power_w=_power_w(hass, device.get(CONF_POWER_ENTITY)),
        import_wh=_energy_wh(hass, device.get(CONF_IMPORT_ENERGY_ENTITY)),
        export_wh=_energy_wh(hass, device.get(CONF_EXPORT_ENERGY_ENTITY)),
        soc_pct=_number(hass, device.get(CONF_SOC_ENTITY))[0],
        is_on=None if switch_state is None else switch_state.state == STATE_ON,
        missing=missing,
    )


class SunSpecPool:
    """One open Modbus connection per SunSpec device, reopened after a failure."""

    def __init__(self) -> None:
        self._devices: dict[str, SunSpecDevice] = {}

    async def device(self, config: DeviceConfig) -> SunSpecDevice:
        if (device := self._devices.get(config.subentry_id)) is None:
            device = SunSpecDevice(
                config.get(CONF_HOST),
                port=int(config.get(CONF_PORT, 502)),
                unit_id=int(config.get(CONF_UNIT_ID, 1)),
                allow_writes=config.allow_writes,
            )
            await device.connect()
            self._devices[config.subentry_id] = device
        return device

    async def read(self, config: DeviceConfig) -> DeviceSnapshot:
        try:
            device = await self.device(config)
            return await _read_kind(device, config.kind)
        except SunSpecError as err:
            LOGGER.debug("SunSpec device %s not readable: %s", config.title, err)
            await self.drop(config.subentry_id)
            return DeviceSnapshot(online=False)

    async def drop(self, subentry_id: str) -> None:
        if (device := self._devices.pop(subentry_id, None)) is not None:
            await device.close()

    async def close(self) -> None:
        for subentry_id in list(self._devices):
            await self.drop(subentry_id)


async def _read_kind(device: SunSpecDevice, kind: str) -> DeviceSnapshot:
    if kind == PV:
        inverter = await device.read_inverter()
        return DeviceSnapshot(power_w=inverter.ac_power_w, export_wh=inverter.energy_wh_total)
    if kind == BATTERY:
        battery = await device.read_battery()
        return DeviceSnapshot(power_w=battery.power_w, soc_pct=battery.soc_pct)
    if kind == GRID_METER:
        meter = await device.read_meter()
        return DeviceSnapshot(
            power_w=meter.power_w, import_wh=meter.import_wh, export_wh=meter.export_wh
        )
    return DeviceSnapshot(online=False)  # the config flow offers Modbus only for the kinds above


async def read_device(
    hass: HomeAssistant, pool: SunSpecPool, device: DeviceConfig
) -> DeviceSnapshot:
    if device.is_modbus:
        return await pool.read(device)
    return read_entities(hass, device)
