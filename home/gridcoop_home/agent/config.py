"""`agent.toml`: what `gridcoop-home run` reads (documented in docs/home_agent.md).

Parsing is strict: a missing, mistyped, out-of-range or unknown setting stops the agent at start
with a message naming it, never later in the loop.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from gridcoop_home.agent.settings import (
    ConfigError,
    boolean,
    choice,
    integer,
    no_unknown,
    number,
    string,
    table,
    tables,
)
from gridcoop_home.agent.topics import check_prefix
from gridcoop_home.planner import Profile
from gridcoop_home.protocol.readings import METER_KINDS

SOURCES = ("mqtt", "sunspec")
LOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOP = {
    "keys",
    "state_file",
    "reading_interval_seconds",
    "mqtt",
    "meters",
    "site",
    "battery",
    "pv",
    "ev",
    "loads",
}


@dataclass(frozen=True, slots=True)
class Modbus:
    host: str
    port: int = 502
    unit_id: int = 1


@dataclass(frozen=True, slots=True)
class MeterConfig:
    kind: str  # grid | pv | battery | ev: the hub meter whose key signs its readings
    source: str  # mqtt | sunspec
    modbus: Modbus | None = None


@dataclass(frozen=True, slots=True)
class MqttConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "gridcoop"
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class BatteryConfig:
    capacity_kwh: float
    max_power_kw: float
    reserve_pct: float = 10.0
    modbus: Modbus | None = None  # its state of charge over SunSpec; else from MQTT


@dataclass(frozen=True, slots=True)
class EVConfig:
    capacity_kwh: float
    max_power_kw: float
    target_soc_pct: float = 80.0
    departure: time = time(7, 0)


@dataclass(frozen=True, slots=True)
class LoadConfig:
    id: str
    power_w: float
    duration_min: float
    discomfort_per_hour: float = 0.1  # currency (major units) per hour of delay


@dataclass(frozen=True, slots=True)
class SiteConfig:
    grid_limit_kw: float = 17.0
    latitude: float = 50.0
    longitude: float = 10.0
    profile: Profile = Profile.MAX_INCOME
    participate: bool = True  # False: read, upload and publish, but never bid


@dataclass(frozen=True, slots=True)
class AgentConfig:
    keys: Path
    meters: tuple[MeterConfig, ...]
    state_file: Path | None = None  # the readings buffer on disk
    mqtt: MqttConfig | None = None
    reading_interval_seconds: int = 60
    site: SiteConfig = field(default_factory=SiteConfig)
    battery: BatteryConfig | None = None
    pv_peak_kw: float = 0.0
    ev: EVConfig | None = None
    loads: tuple[LoadConfig, ...] = ()


def load_config(path: Path) -> AgentConfig:
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror}") from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from err
    return parse_config(data, path.parent)


def parse_config(data: Mapping[str, Any], base: Path) -> AgentConfig:
    no_unknown(data, TOP, "")
    mqtt = _mqtt(table(data, "mqtt"))
    meters = tuple(_meter(m, f"meters[{i}].") for i, m in enumerate(tables(data, "meters")))
    if not meters:
        raise ConfigError("meters is missing: add at least one [[meters]] table")
    kinds = [m.kind for m in meters]
    for i, meter in enumerate(meters):
        if (first := kinds.index(meter.kind)) != i:
            raise ConfigError(f"meters[{i}].kind {meter.kind!r} is already read by meters[{first}]")
        if meter.source == "mqtt" and mqtt is None:
            raise ConfigError(f"meters[{i}].source is 'mqtt' but there is no [mqtt] table")
    battery = _battery(table(data, "battery"))
    if battery is not None and battery.modbus is None and mqtt is None:
        raise ConfigError("battery: its state of charge needs [mqtt] or battery.host (SunSpec)")
    pv = table(data, "pv")
    if pv is not None:
        no_unknown(pv, {"peak_kw"}, "pv.")
    return AgentConfig(
        keys=base / string(data, "keys", ""),
        state_file=base / string(data, "state_file", "", "agent-state.json"),
        meters=meters,
        mqtt=mqtt,
        reading_interval_seconds=integer(data, "reading_interval_seconds", "", 60, 1, 3600),
        site=_site(table(data, "site")),
        battery=battery,
        pv_peak_kw=0.0 if pv is None else number(pv, "peak_kw", "pv.", None, 0, 1000),
        ev=_ev(table(data, "ev")),
        loads=_loads(tables(data, "loads")),
    )


def _mqtt(data: Mapping[str, Any] | None) -> MqttConfig | None:
    if data is None:
        return None
    w = "mqtt."
    no_unknown(data, {"host", "port", "prefix", "username", "password"}, w)
    prefix = string(data, "prefix", w, "gridcoop")
    if problem := check_prefix(prefix):
        raise ConfigError(f"mqtt.prefix {problem}")
    return MqttConfig(
        host=string(data, "host", w, "127.0.0.1"),
        port=integer(data, "port", w, 1883, 1, 65535),
        prefix=prefix,
        username=string(data, "username", w) if "username" in data else None,
        password=string(data, "password", w) if "password" in data else None,
    )


def _modbus(data: Mapping[str, Any], where: str) -> Modbus:
    return Modbus(
        host=string(data, "host", where),
        port=integer(data, "port", where, 502, 1, 65535),
        unit_id=integer(data, "unit_id", where, 1, 0, 255),
    )


def _meter(data: Mapping[str, Any], where: str) -> MeterConfig:
    no_unknown(data, {"kind", "source", "host", "port", "unit_id"}, where)
    kind = choice(data, "kind", where, METER_KINDS, None)
    source = choice(data, "source", where, SOURCES, "mqtt")
    if source == "mqtt":
        if extra := sorted({"host", "port", "unit_id"} & set(data)):
            raise ConfigError(f"{where}{extra[0]} is for source = 'sunspec' only")
        return MeterConfig(kind, source)
    return MeterConfig(kind, source, _modbus(data, where))


def _site(data: Mapping[str, Any] | None) -> SiteConfig:
    if data is None:
        return SiteConfig()
    w = "site."
    no_unknown(data, {"grid_limit_kw", "latitude", "longitude", "profile", "participate"}, w)
    profiles = tuple(p.value for p in Profile)
    return SiteConfig(
        grid_limit_kw=number(data, "grid_limit_kw", w, 17.0, 0.1, 1000),
        latitude=number(data, "latitude", w, 50.0, -90, 90),
        longitude=number(data, "longitude", w, 10.0, -180, 180),
        profile=Profile(choice(data, "profile", w, profiles, Profile.MAX_INCOME.value)),
        participate=boolean(data, "participate", w, True),
    )


def _battery(data: Mapping[str, Any] | None) -> BatteryConfig | None:
    if data is None:
        return None
    w = "battery."
    no_unknown(data, {"capacity_kwh", "max_power_kw", "reserve_pct", "host", "port", "unit_id"}, w)
    return BatteryConfig(
        capacity_kwh=number(data, "capacity_kwh", w, None, 0.1, 1000),
        max_power_kw=number(data, "max_power_kw", w, None, 0.1, 1000),
        reserve_pct=number(data, "reserve_pct", w, 10.0, 0, 100),
        modbus=_modbus(data, w) if "host" in data else None,
    )


def _ev(data: Mapping[str, Any] | None) -> EVConfig | None:
    if data is None:
        return None
    w = "ev."
    no_unknown(data, {"capacity_kwh", "max_power_kw", "target_soc_pct", "departure"}, w)
    departure = string(data, "departure", w, "07:00")
    try:
        leave = time.fromisoformat(departure)
    except ValueError as err:
        raise ConfigError(f"ev.departure must be a time like '07:30', got {departure!r}") from err
    return EVConfig(
        capacity_kwh=number(data, "capacity_kwh", w, None, 1, 1000),
        max_power_kw=number(data, "max_power_kw", w, None, 0.1, 1000),
        target_soc_pct=number(data, "target_soc_pct", w, 80.0, 0, 100),
        departure=leave,
    )


def _loads(items: list[Mapping[str, Any]]) -> tuple[LoadConfig, ...]:
    loads: list[LoadConfig] = []
    for i, data in enumerate(items):
        w = f"loads[{i}]."
        no_unknown(data, {"id", "power_w", "duration_min", "discomfort_per_hour"}, w)
        load_id = string(data, "id", w)
        if not LOAD_ID.fullmatch(load_id):
            raise ConfigError(
                f"{w}id must be letters, digits, _ or - (a topic level), got {load_id!r}"
            )
        if any(load.id == load_id for load in loads):
            raise ConfigError(f"{w}id {load_id!r} is used twice")
        loads.append(
            LoadConfig(
                id=load_id,
                power_w=number(data, "power_w", w, None, 1, 100_000),
                duration_min=number(data, "duration_min", w, None, 1, 24 * 60),
                discomfort_per_hour=number(data, "discomfort_per_hour", w, 0.1, 0, 1000),
            )
        )
    return tuple(loads)
