"""Turn dispatch commands into device actions and events.

Every command fires the device's event entity; a command is also carried out only when the
device's automatic-dispatch switch is on. Device actions go through Home Assistant services
(switches, number setpoints) or, for SunSpec devices that allow writes, guarded Modbus writes
that revert on their own after two intervals if GridCoop goes quiet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridcoop_home.devices.sunspec import SunSpecError
from gridcoop_home.protocol.dispatch import DispatchCommand
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import (
    BATTERY,
    CONF_SETPOINT_ENTITY,
    CONF_SWITCH_ENTITY,
    EV_CHARGER,
    FLEXIBLE_LOAD,
    LOGGER,
    PV,
    SIGNAL_DISPATCH,
)
from .devices import DeviceConfig
from .settings import Settings
from .sources import SunSpecPool

ON_ACTIONS = {"start", "charge"}
OFF_ACTIONS = {"defer", "pause"}


class Dispatcher:
    def __init__(
        self,
        hass: HomeAssistant,
        devices: Mapping[str, DeviceConfig],
        settings: Settings,
        pool: SunSpecPool,
        interval_seconds: int,
    ) -> None:
        self._hass = hass
        self._devices = devices
        self._settings = settings
        self._pool = pool
        self.interval_seconds = interval_seconds
        self.last: dict[str, dict[str, Any]] = {}  # subentry id -> last command (diagnostics)

    def device_for(self, asset: str) -> DeviceConfig | None:
        return next((d for d in self._devices.values() if d.asset == asset), None)

    async def async_handle(self, commands: list[DispatchCommand], interval_start: int) -> None:
        for command in commands:
            device = self.device_for(command.device)
            if device is None:
                LOGGER.debug("Dispatch for %s: no such device here", command.device)
                continue
            applied = False
            if self._settings.auto_dispatch.get(device.subentry_id, False):
                applied = await self._apply(device, command)
            payload = {**command.to_wire(), "interval_start": interval_start, "applied": applied}
            self.last[device.subentry_id] = payload
            async_dispatcher_send(self._hass, SIGNAL_DISPATCH.format(device.subentry_id), payload)

    async def _apply(self, device: DeviceConfig, command: DispatchCommand) -> bool:
        try:
            if device.is_modbus:
                return await self._apply_sunspec(device, command)
            return await self._apply_entities(device, command)
        except (HomeAssistantError, SunSpecError) as err:
            LOGGER.warning("Could not %s %s: %s", command.action, device.title, err)
            return False

    async def _apply_entities(self, device: DeviceConfig, command: DispatchCommand) -> bool:
        done = False
        switch = device.get(CONF_SWITCH_ENTITY)
        switchable = device.kind in (FLEXIBLE_LOAD, EV_CHARGER)
        if switch and switchable and command.action in ON_ACTIONS | OFF_ACTIONS:
            service = "turn_on" if command.action in ON_ACTIONS else "turn_off"
            await self._hass.services.async_call(
                "homeassistant", service, {ATTR_ENTITY_ID: switch}, blocking=True
            )
            done = True
        setpoint = device.get(CONF_SETPOINT_ENTITY)
        if setpoint and device.kind in (BATTERY, EV_CHARGER):
            await self._hass.services.async_call(
                "number",
                "set_value",
                {ATTR_ENTITY_ID: setpoint, "value": signed_power(command)},
                blocking=True,
            )
            done = True
        return done

    async def _apply_sunspec(self, device: DeviceConfig, command: DispatchCommand) -> bool:
        if not device.allow_writes:
            return False
        sunspec = await self._pool.device(device)
        revert_after = 2 * self.interval_seconds
        if device.kind == BATTERY:
            await sunspec.set_battery_power(signed_power(command), revert_after_s=revert_after)
            return True
        if device.kind == PV and command.action == "curtail":
            await sunspec.set_pv_power_limit(command.power_w, revert_after_s=revert_after)
            return True
        return False


def signed_power(command: DispatchCommand) -> float:
    """Setpoint in W: positive charges, negative discharges, 0 otherwise."""
    if command.action == "charge":
        return float(command.power_w)
    if command.action == "discharge":
        return -float(command.power_w)
    return 0.0
