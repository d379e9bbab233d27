"""The Energy dashboard's preferences, read into what a new GridCoop home can be pre-filled with.

Input: `EnergyManager.data` (or the `energy/get_prefs` answer), a dict with `energy_sources` and
`device_consumption`. Two shapes of grid source exist:

- storage 1.3 (HA 2026.3 and later): one `{"type": "grid", stat_energy_from, stat_energy_to,
  stat_rate, power_config, ...prices}` per grid connection, several allowed;
- before that: one `{"type": "grid", "flow_from": [...], "flow_to": [...], "power": [...]}`.
  It is read the way Home Assistant migrates it: entry i of each list forms connection i.

Every `stat_*` is a statistic id: an entity ("sensor.grid_import") or an external statistic
("tibber:energy_consumption_home"), which has no state to read. `stat_rate` is the power sensor
Home Assistant resolved from `power_config` (positive = import / discharge); `power_config` says
how the owner set it up. Gas and water are not electricity and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridcoop_home.sources.errors import EnergyPreferencesError
from gridcoop_home.sources.parsing import as_list, as_mapping, as_number, as_text, item

E = EnergyPreferencesError
# Home Assistant's entity id rule: lower-case domain and object id, no leading, trailing or
# double underscores. External statistics ("tibber:...") never match it.
_ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")
NOT_ELECTRICITY = {"gas", "water"}


@dataclass(frozen=True, slots=True)
class Statistic:
    id: str

    @property
    def is_entity(self) -> bool:
        """True for an entity (it has a state); False for an external statistic."""
        return _ENTITY_ID.match(self.id) is not None


@dataclass(frozen=True, slots=True)
class PowerSensor:
    """A power measurement: `net` is what to read (positive = import / discharge)."""

    net: Statistic | None
    inverted: Statistic | None = None  # the owner's sensor, opposite sign
    from_: Statistic | None = None  # two-sensor setup: grid consumption / battery discharge
    to: Statistic | None = None  # two-sensor setup: grid return / battery charge


@dataclass(frozen=True, slots=True)
class GridConnection:
    name: str | None
    energy_import: Statistic | None
    energy_export: Statistic | None
    power: PowerSensor | None
    import_price_entity: str | None
    import_price: float | None  # currency per kWh, as the owner typed it
    export_price_entity: str | None
    export_price: float | None


@dataclass(frozen=True, slots=True)
class SolarSource:
    name: str | None
    energy: Statistic
    power: Statistic | None
    forecast_entries: tuple[str, ...]  # config entry ids with an Energy solar forecast


@dataclass(frozen=True, slots=True)
class BatterySource:
    name: str | None
    energy_out: Statistic  # discharged (stat_energy_from)
    energy_in: Statistic  # charged (stat_energy_to)
    power: PowerSensor | None
    soc: Statistic | None  # %, new in 2026 (often missing)
    capacity_kwh: float | None


@dataclass(frozen=True, slots=True)
class ConsumingDevice:
    name: str | None
    energy: Statistic
    power: Statistic | None
    included_in: Statistic | None


@dataclass(frozen=True, slots=True)
class EnergySetup:
    grids: tuple[GridConnection, ...] = ()
    solar: tuple[SolarSource, ...] = ()
    batteries: tuple[BatterySource, ...] = ()
    devices: tuple[ConsumingDevice, ...] = ()
    legacy_grid_format: bool = False  # read from the pre-2026.3 flow_from/flow_to shape
    warnings: tuple[str, ...] = ()

    @property
    def solar_forecast_entries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for s in self.solar for e in s.forecast_entries))


def parse_energy_preferences(prefs: Mapping[str, Any] | None) -> EnergySetup:
    """None (Energy never configured) gives an empty setup."""
    if prefs is None:
        return EnergySetup()
    data = as_mapping(prefs, "preferences", E)
    sources = as_list(data.get("energy_sources") or [], "energy_sources", E)
    grids: list[GridConnection] = []
    solar: list[SolarSource] = []
    batteries: list[BatterySource] = []
    warnings: list[str] = []
    legacy = False
    for index, raw in enumerate(sources):
        where = f"energy_sources[{index}]"
        source = as_mapping(raw, where, E)
        kind = item(source, "type", where, E)
        if kind == "grid" and "flow_from" in source:
            legacy = True
            grids += _legacy_grid(source, where)
        elif kind == "grid":
            grids.append(_grid(source, where))
        elif kind == "solar":
            solar.append(_solar(source, where))
        elif kind == "battery":
            batteries.append(_battery(source, where))
        elif kind not in NOT_ELECTRICITY:
            warnings.append(f"{where}: unknown source type {kind!r} skipped")
    devices = [
        _device(as_mapping(raw, f"device_consumption[{i}]", E), f"device_consumption[{i}]")
        for i, raw in enumerate(
            as_list(data.get("device_consumption") or [], "device_consumption", E)
        )
    ]
    return EnergySetup(
        tuple(grids), tuple(solar), tuple(batteries), tuple(devices), legacy, tuple(warnings)
    )


def _grid(source: Mapping[str, Any], where: str) -> GridConnection:
    return GridConnection(
        name=_optional_text(source, "name", where),
        energy_import=_stat(source, "stat_energy_from", where),
        energy_export=_stat(source, "stat_energy_to", where),
        power=_power(source, where),
        import_price_entity=_optional_text(source, "entity_energy_price", where),
        import_price=_optional_number(source, "number_energy_price", where),
        export_price_entity=_optional_text(source, "entity_energy_price_export", where),
        export_price=_optional_number(source, "number_energy_price_export", where),
    )


def _legacy_grid(source: Mapping[str, Any], where: str) -> list[GridConnection]:
    """flow_from[i], flow_to[i] and power[i] form connection i, as HA's 1.3 migration pairs them."""
    flows_from = as_list(source.get("flow_from") or [], f"{where}.flow_from", E)
    flows_to = as_list(source.get("flow_to") or [], f"{where}.flow_to", E)
    powers = as_list(source.get("power") or [], f"{where}.power", E)
    connections = []
    for i in range(max(len(flows_from), len(flows_to), len(powers))):
        empty: Mapping[str, Any] = {}
        ff = (
            as_mapping(flows_from[i], f"{where}.flow_from[{i}]", E)
            if i < len(flows_from)
            else empty
        )
        ft = as_mapping(flows_to[i], f"{where}.flow_to[{i}]", E) if i < len(flows_to) else empty
        pw = as_mapping(powers[i], f"{where}.power[{i}]", E) if i < len(powers) else empty
        connections.append(
            GridConnection(
                name=None,
                energy_import=_stat(ff, "stat_energy_from", f"{where}.flow_from[{i}]"),
                energy_export=_stat(ft, "stat_energy_to", f"{where}.flow_to[{i}]"),
                power=_power(pw, f"{where}.power[{i}]"),
                import_price_entity=_optional_text(
                    ff, "entity_energy_price", f"{where}.flow_from[{i}]"
                ),
                import_price=_optional_number(ff, "number_energy_price", f"{where}.flow_from[{i}]"),
                export_price_entity=_optional_text(
                    ft, "entity_energy_price", f"{where}.flow_to[{i}]"
                ),
                export_price=_optional_number(ft, "number_energy_price", f"{where}.flow_to[{i}]"),
            )
        )
    return connections


def _solar(source: Mapping[str, Any], where: str) -> SolarSource:
    entries = as_list(
        source.get("config_entry_solar_forecast") or [], f"{where}.config_entry_solar_forecast", E
    )
    return SolarSource(
        name=_optional_text(source, "name", where),
        energy=_required_stat(source, "stat_energy_from", where),
        power=_stat(source, "stat_rate", where),
        forecast_entries=tuple(
            as_text(entry, f"{where}.config_entry_solar_forecast[{i}]", E)
            for i, entry in enumerate(entries)
        ),
    )


def _battery(source: Mapping[str, Any], where: str) -> BatterySource:
    capacity = _optional_number(source, "capacity", where)
    if capacity is not None and capacity <= 0:
        raise E(f"{where}.capacity", f"must be positive kWh, got {capacity!r}")
    return BatterySource(
        name=_optional_text(source, "name", where),
        energy_out=_required_stat(source, "stat_energy_from", where),
        energy_in=_required_stat(source, "stat_energy_to", where),
        power=_power(source, where),
        soc=_stat(source, "stat_soc", where),
        capacity_kwh=capacity,
    )


def _device(device: Mapping[str, Any], where: str) -> ConsumingDevice:
    return ConsumingDevice(
        name=_optional_text(device, "name", where),
        energy=_required_stat(device, "stat_consumption", where),
        power=_stat(device, "stat_rate", where),
        included_in=_stat(device, "included_in_stat", where),
    )


def _power(source: Mapping[str, Any], where: str) -> PowerSensor | None:
    net = _stat(source, "stat_rate", where)
    config = as_mapping(source.get("power_config") or {}, f"{where}.power_config", E)
    inner = f"{where}.power_config"
    if net is None:
        net = _stat(config, "stat_rate", inner)
    sensor = PowerSensor(
        net=net,
        inverted=_stat(config, "stat_rate_inverted", inner),
        from_=_stat(config, "stat_rate_from", inner),
        to=_stat(config, "stat_rate_to", inner),
    )
    return None if sensor == PowerSensor(None) else sensor


def _stat(source: Mapping[str, Any], key: str, where: str) -> Statistic | None:
    value = source.get(key)
    if value is None or value == "":
        return None
    return Statistic(as_text(value, f"{where}.{key}", E))


def _required_stat(source: Mapping[str, Any], key: str, where: str) -> Statistic:
    stat = _stat(source, key, where)
    if stat is None:
        raise E(f"{where}.{key}", "missing")
    return stat


def _optional_text(source: Mapping[str, Any], key: str, where: str) -> str | None:
    value = source.get(key)
    return None if value is None or value == "" else as_text(value, f"{where}.{key}", E)


def _optional_number(source: Mapping[str, Any], key: str, where: str) -> float | None:
    value = source.get(key)
    return None if value is None else as_number(value, f"{where}.{key}", E)
