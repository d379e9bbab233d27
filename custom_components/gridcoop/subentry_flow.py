"""Device subentries: one per physical device, read from HA entities or SunSpec Modbus TCP."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from gridcoop_home.devices.sunspec import (
    DeviceBusyError,
    DeviceUnreachableError,
    ModelChainError,
    NoSunSpecMarkerError,
    SunSpecDevice,
    SunSpecError,
)
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers import selector

from .const import (
    BATTERY,
    CONF_ALLOW_WRITES,
    CONF_CAPACITY_KWH,
    CONF_DURATION_MIN,
    CONF_EXPORT_ENERGY_ENTITY,
    CONF_HOST,
    CONF_IMPORT_ENERGY_ENTITY,
    CONF_LOAD_POWER_W,
    CONF_MAX_POWER_KW,
    CONF_PEAK_KW,
    CONF_PORT,
    CONF_POWER_ENTITY,
    CONF_SETPOINT_ENTITY,
    CONF_SOC_ENTITY,
    CONF_SOURCE,
    CONF_SWITCH_ENTITY,
    CONF_TARGET_SOC,
    CONF_UNIT_ID,
    EV_CHARGER,
    FLEXIBLE_LOAD,
    GRID_METER,
    LOGGER,
    MODBUS_KINDS,
    PV,
    SETPOINT_DOMAINS,
    SOURCE_ENTITIES,
    SOURCE_MODBUS,
)
from .energy_prefill import async_energy_defaults
from .sources import _read_kind


def _sensor(device_class: str) -> selector.EntitySelector:
    return selector.EntitySelector(
        selector.EntitySelectorConfig(domain="sensor", device_class=device_class)
    )


def _number(low: float, high: float, step: float, unit: str) -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=low,
            max=high,
            step=step,
            unit_of_measurement=unit,
            mode=selector.NumberSelectorMode.BOX,
        )
    )


SWITCH = selector.EntitySelector(selector.EntitySelectorConfig(domain=["switch", "input_boolean"]))
SETPOINT = selector.EntitySelector(selector.EntitySelectorConfig(domain=list(SETPOINT_DOMAINS)))

# Entity fields per kind: (key, selector, required)
ENTITY_FIELDS: dict[str, list[tuple[str, Any, bool]]] = {
    PV: [
        (CONF_POWER_ENTITY, _sensor("power"), False),
        (CONF_EXPORT_ENERGY_ENTITY, _sensor("energy"), True),
    ],
    BATTERY: [
        (CONF_POWER_ENTITY, _sensor("power"), False),
        (CONF_SOC_ENTITY, _sensor("battery"), True),
        (CONF_IMPORT_ENERGY_ENTITY, _sensor("energy"), False),
        (CONF_EXPORT_ENERGY_ENTITY, _sensor("energy"), False),
        (CONF_SETPOINT_ENTITY, SETPOINT, False),
    ],
    EV_CHARGER: [
        (CONF_POWER_ENTITY, _sensor("power"), False),
        (CONF_IMPORT_ENERGY_ENTITY, _sensor("energy"), False),
        (CONF_SOC_ENTITY, _sensor("battery"), False),
        (CONF_SWITCH_ENTITY, SWITCH, False),
        (CONF_SETPOINT_ENTITY, SETPOINT, False),
    ],
    GRID_METER: [
        (CONF_POWER_ENTITY, _sensor("power"), False),
        (CONF_IMPORT_ENERGY_ENTITY, _sensor("energy"), True),
        (CONF_EXPORT_ENERGY_ENTITY, _sensor("energy"), False),
    ],
    FLEXIBLE_LOAD: [
        (CONF_SWITCH_ENTITY, SWITCH, True),
        (CONF_POWER_ENTITY, _sensor("power"), False),
    ],
}

# Device parameters per kind (both sources): (key, selector, default)
PARAM_FIELDS: dict[str, list[tuple[str, Any, float]]] = {
    PV: [(CONF_PEAK_KW, _number(0, 1000, 0.1, "kW"), 5.0)],
    BATTERY: [
        (CONF_CAPACITY_KWH, _number(0.1, 1000, 0.1, "kWh"), 10.0),
        (CONF_MAX_POWER_KW, _number(0.1, 1000, 0.1, "kW"), 5.0),
    ],
    EV_CHARGER: [
        (CONF_CAPACITY_KWH, _number(1, 200, 1, "kWh"), 60.0),
        (CONF_MAX_POWER_KW, _number(1, 350, 0.1, "kW"), 11.0),
        (CONF_TARGET_SOC, _number(10, 100, 1, "%"), 80.0),
    ],
    GRID_METER: [],
    FLEXIBLE_LOAD: [
        (CONF_LOAD_POWER_W, _number(10, 20000, 10, "W"), 1000.0),
        (CONF_DURATION_MIN, _number(15, 1440, 15, "min"), 60.0),
    ],
}


async def probe_sunspec(data: dict[str, Any], kind: str) -> str | None:
    """None when the device answers as the kind it was added as; else a form error key."""
    device = SunSpecDevice(
        data[CONF_HOST], port=int(data[CONF_PORT]), unit_id=int(data[CONF_UNIT_ID])
    )
    try:
        async with device:
            # The owner is trying (again) now: no remembered failure from a minute ago.
            await device.discover(refresh=True)
            await _read_kind(device, kind)
    except (DeviceUnreachableError, DeviceBusyError):
        return "cannot_connect"
    except (NoSunSpecMarkerError, ModelChainError):
        return "not_sunspec"
    except SunSpecError as err:
        LOGGER.debug("SunSpec device does not fit %s: %s", kind, err)
        return "unsupported_device"
    return None


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure one device; the subclass sets `kind`."""

    kind: str

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        if self.kind not in MODBUS_KINDS:
            return await self.async_step_entities()
        return self.async_show_menu(step_id="user", menu_options=["entities", "modbus"])

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        subentry = self._get_reconfigure_subentry()
        self._data = {CONF_NAME: subentry.title, **subentry.data}
        if subentry.data.get(CONF_SOURCE) == SOURCE_MODBUS:
            return await self.async_step_modbus()
        return await self.async_step_entities()

    def _params(self) -> dict[Any, Any]:
        return {
            vol.Required(key, default=self._data.get(key, default)): sel
            for key, sel, default in PARAM_FIELDS[self.kind]
        }

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is None and self.source != SOURCE_RECONFIGURE and not self._data:
            self._data = await async_energy_defaults(self.hass, self.kind, self._used_entities())
        if user_input is not None:
            setpoint = user_input.get(CONF_SETPOINT_ENTITY)
            if setpoint and setpoint.split(".", 1)[0] not in SETPOINT_DOMAINS:
                # Dispatch writes W with number.set_value or input_number.set_value only.
                errors[CONF_SETPOINT_ENTITY] = "setpoint_not_a_number"
                self._data.update(user_input)
            else:
                return self._finish({**user_input, CONF_SOURCE: SOURCE_ENTITIES})
        fields: dict[Any, Any] = {vol.Required(CONF_NAME): str}
        for key, sel, required in ENTITY_FIELDS[self.kind]:
            fields[vol.Required(key) if required else vol.Optional(key)] = sel
        fields.update(self._params())
        return self.async_show_form(
            step_id="entities",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), self._data),
            errors=errors,
        )

    async def async_step_modbus(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            error = await probe_sunspec(user_input, self.kind)
            if error is None:
                return self._finish({**user_input, CONF_SOURCE: SOURCE_MODBUS})
            errors["base"] = error
            self._data.update(user_input)
        fields: dict[Any, Any] = {
            vol.Required(CONF_NAME): str,
            vol.Required(CONF_HOST): str,
            vol.Required(CONF_PORT, default=502): vol.All(vol.Coerce(int), vol.Range(1, 65535)),
            vol.Required(CONF_UNIT_ID, default=1): vol.All(vol.Coerce(int), vol.Range(0, 247)),
            vol.Required(CONF_ALLOW_WRITES, default=False): bool,
            **self._params(),
        }
        return self.async_show_form(
            step_id="modbus",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), self._data),
            errors=errors,
        )

    def _used_entities(self) -> set[str]:
        """Entities the home's other devices already read."""
        return {
            value
            for subentry in self._get_entry().subentries.values()
            for key, value in subentry.data.items()
            if key.endswith("_entity") and isinstance(value, str)
        }

    def _finish(self, data: dict[str, Any]) -> SubentryFlowResult:
        title = data.pop(CONF_NAME)
        if self.source == SOURCE_RECONFIGURE:
            # The entry's update listener reloads it, so the new settings take effect.
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), title=title, data=data
            )
        return self.async_create_entry(title=title, data=data)


def flow_for_kind(kind: str) -> type[DeviceSubentryFlow]:
    return type(
        f"{kind.title().replace('_', '')}SubentryFlow", (DeviceSubentryFlow,), {"kind": kind}
    )
