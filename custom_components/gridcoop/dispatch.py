"""Carry out dispatch commands on the home's devices, within every limit, and tell the owner.

A command is first held to the device's rating, its state of charge and its setpoint entity's
range (gridcoop_home.protocol.dispatch.clamp_command), then all of them to the grid operator's limit
on the home's import and export, when the hub sent one (within_grid_limit: the EV, the battery and
flexible loads give way first; a device changed by hand is never reduced). It is carried out only
when the device's
automatic-dispatch switch is on and nobody changed the device by hand (override.py); GridCoop
switches off only what it switched on itself. `applied` is true only once the device's entity
reads back what was written. The device's event entity fires when its command changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridcoop_home.devices.sunspec import SunSpecError
from gridcoop_home.protocol.dispatch import DispatchCommand, PowerLimits, clamp_command
from gridcoop_home.protocol.grid_limit import GridLimit, within_grid_limit
from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import (
    BATTERY,
    CONF_CAPACITY_KWH,
    CONF_MAX_POWER_KW,
    CONF_SETPOINT_ENTITY,
    CONF_SWITCH_ENTITY,
    EV_CHARGER,
    FLEXIBLE_LOAD,
    LOGGER,
    PV,
    SETPOINT_DOMAINS,
    SIGNAL_DISPATCH,
)
from .devices import DeviceConfig
from .override import OverrideTracker
from .settings import Settings
from .sources import DeviceSnapshot, SunSpecPool

ON_ACTIONS = {"start", "charge"}
OFF_ACTIONS = {"defer", "pause"}
FULL_PCT = 99.5  # a battery this full takes no more charge


class Dispatcher:
    def __init__(
        self,
        hass: HomeAssistant,
        devices: Mapping[str, DeviceConfig],
        settings: Settings,
        pool: SunSpecPool,
        overrides: OverrideTracker,
        interval_seconds: int,
    ) -> None:
        self._hass = hass
        self._devices = devices
        self._settings = settings
        self._pool = pool
        self.overrides = overrides
        self.interval_seconds = interval_seconds
        self.last: dict[str, dict[str, Any]] = {}  # subentry id -> last command (diagnostics)
        self._switched_on: set[str] = set()  # entities GridCoop itself switched on
        self.grid_limit: GridLimit | None = None  # the hub's limit for the interval dispatched

    def device_for(self, asset: str) -> DeviceConfig | None:
        return next((d for d in self._devices.values() if d.asset == asset), None)

    async def async_handle(
        self,
        commands: list[DispatchCommand],
        interval_start: int,
        snapshots: Mapping[str, DeviceSnapshot],
        grid_limit: GridLimit | None = None,
        other_w: float = 0.0,
    ) -> dict[str, DispatchCommand]:
        """Carry out one interval's commands; returns what each device was told (clamped).
        `other_w` is what no command controls (the base load), for the grid limit."""
        clamped: list[tuple[DeviceConfig, DispatchCommand]] = []
        for command in commands:
            device = self.device_for(command.device)
            if device is None:
                LOGGER.debug("Dispatch for %s: no such device here", command.device)
                continue
            limits = self.limits(device, snapshots.get(device.subentry_id))
            clamped.append((device, clamp_command(command, limits)))
        self.grid_limit = grid_limit
        held = within_grid_limit(
            [command for _, command in clamped],
            grid_limit,
            other_w,
            fixed={device.asset for device, _ in clamped if self._owners(device)},
        )
        told: dict[str, DispatchCommand] = {}
        for (device, _), command in zip(clamped, held, strict=True):
            told[command.device] = command
            applied, why = await self._maybe_apply(device, command)
            self._tell(device, command, interval_start, applied, why)
        return told

    def _owners(self, device: DeviceConfig) -> bool:
        """Whether the owner has the device: changed by hand, or switched on outside GridCoop."""
        if self.overrides.is_paused(device.subentry_id):
            return True
        switch = device.get(CONF_SWITCH_ENTITY)
        return bool(switch) and switch not in self._switched_on and self._is_on(switch)

    def limits(self, device: DeviceConfig, snap: DeviceSnapshot | None) -> PowerLimits:
        """The device's rating, state of charge and its setpoint entity's own range."""
        rating = float(device.get(CONF_MAX_POWER_KW, 0)) * 1000 or None
        low = high = None
        if (setpoint := device.get(CONF_SETPOINT_ENTITY)) and (
            state := self._hass.states.get(setpoint)
        ):
            low, high = _float(state.attributes.get("min")), _float(state.attributes.get("max"))
        soc = snap.soc_pct if snap is not None else None
        reserve = self._settings.battery_reserve_pct.get(device.subentry_id, 0.0)
        if device.kind == BATTERY:
            return PowerLimits(
                max_charge_w=rating,
                max_discharge_w=rating,
                setpoint_min=low,
                setpoint_max=high,
                can_charge=soc is None or soc < FULL_PCT,
                can_discharge=soc is None or soc > reserve,
            )
        if device.kind == EV_CHARGER:
            return PowerLimits(max_charge_w=rating, max_discharge_w=0, setpoint_max=high)
        return PowerLimits()

    async def _maybe_apply(
        self, device: DeviceConfig, command: DispatchCommand
    ) -> tuple[bool, str]:
        if not self._settings.auto_dispatch.get(device.subentry_id, False):
            return False, "automatic dispatch is off"
        if self.overrides.is_paused(device.subentry_id):
            return False, "changed by hand: automatic dispatch paused"
        try:
            if device.is_modbus:
                return await self._apply_sunspec(device, command)
            return await self._apply_entities(device, command)
        except (HomeAssistantError, SunSpecError) as err:
            LOGGER.warning("Could not %s %s: %s", command.action, device.title, err)
            return False, str(err)

    def _tell(
        self,
        device: DeviceConfig,
        command: DispatchCommand,
        interval_start: int,
        applied: bool,
        why: str,
    ) -> None:
        """Fire the device's event when what it is told changes (one logbook line, not one per
        interval); diagnostics keep every command."""
        payload = {
            **command.to_wire(),
            "interval_start": interval_start,
            "applied": applied,
            "not_applied_because": None if applied else why,
        }
        previous = self.last.get(device.subentry_id)
        self.last[device.subentry_id] = payload
        if previous is not None and all(
            previous[k] == payload[k] for k in ("action", "power_w", "applied")
        ):
            return
        async_dispatcher_send(self._hass, SIGNAL_DISPATCH.format(device.subentry_id), payload)

    # -- Home Assistant entities ---------------------------------------------------------------

    async def _apply_entities(
        self, device: DeviceConfig, command: DispatchCommand
    ) -> tuple[bool, str]:
        done: list[bool] = []
        switch = device.get(CONF_SWITCH_ENTITY)
        if switch and device.kind in (FLEXIBLE_LOAD, EV_CHARGER):
            if command.action in ON_ACTIONS:
                done.append(await self._switch(switch, on=True))
            elif command.action in OFF_ACTIONS:
                if switch not in self._switched_on and self._is_on(switch):
                    return False, "switched on outside GridCoop: left on"
                done.append(await self._switch(switch, on=False))
        setpoint = device.get(CONF_SETPOINT_ENTITY)
        if setpoint and device.kind in (BATTERY, EV_CHARGER):
            done.append(await self._set_power(setpoint, float(command.signed_power_w)))
        if not done:
            return False, "no switch or setpoint to act on"
        return all(done), "" if all(done) else "the device did not take the value"

    def _is_on(self, entity_id: str) -> bool:
        state = self._hass.states.get(entity_id)
        return state is not None and state.state == STATE_ON

    async def _switch(self, entity_id: str, *, on: bool) -> bool:
        await self._hass.services.async_call(
            entity_id.split(".", 1)[0],  # switch or input_boolean: both turn on and off
            "turn_on" if on else "turn_off",
            {ATTR_ENTITY_ID: entity_id},
            blocking=True,
            context=self.overrides.context(),
        )
        (self._switched_on.add if on else self._switched_on.discard)(entity_id)
        return self._is_on(entity_id) == on

    async def _set_power(self, entity_id: str, watts: float) -> bool:
        domain = entity_id.split(".", 1)[0]
        if domain not in SETPOINT_DOMAINS:
            raise HomeAssistantError(f"{entity_id} is not a number or input_number")
        await self._hass.services.async_call(
            domain,
            "set_value",
            {ATTR_ENTITY_ID: entity_id, "value": watts},
            blocking=True,
            context=self.overrides.context(),
        )
        state = self._hass.states.get(entity_id)
        read = _float(state.state) if state is not None else None
        step = _float(state.attributes.get("step")) if state is not None else None
        return read is not None and abs(read - watts) <= max((step or 1.0) / 2, 0.5)

    # -- SunSpec -------------------------------------------------------------------------------

    async def _apply_sunspec(
        self, device: DeviceConfig, command: DispatchCommand
    ) -> tuple[bool, str]:
        if not device.allow_writes:
            return False, "Modbus writes are not allowed for this device"
        sunspec = await self._pool.device(device)
        revert_after = 2 * self.interval_seconds
        if device.kind == BATTERY:
            # The device library reads every write back and raises when it does not hold.
            await sunspec.set_battery_power(command.signed_power_w, revert_after_s=revert_after)
            return True, ""
        if device.kind == PV and command.action == "curtail":
            await sunspec.set_pv_power_limit(command.power_w, revert_after_s=revert_after)
            return True, ""
        return False, "nothing to write for this command"


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def capacity_wh(device: DeviceConfig) -> float:
    return float(device.get(CONF_CAPACITY_KWH, 10)) * 1000
