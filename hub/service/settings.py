"""Operator settings edited in the admin area: validation, persistence format and application.

Stored in the store's `settings` table as JSON under these keys:

    tariff                {"timezone": "Europe/Berlin",
                           "periods": [{"start": "00:00", "retail_price": 22, "feed_in_price": 7}]}
    fee_per_kwh           int, minor units per kWh charged to each side of a local trade
    k_percent             int, 0-100
    interval_seconds      int  } take effect when the hub (re)starts:
    gate_closure_seconds  int  } intervals already bid for must keep their length

Stored settings win over the configuration file. Every value is validated by building the
HubConfig it would produce, so a refused update never reaches the store.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.config import ConfigError, HubConfig
from hub.config_schema import PRICE_LIMIT
from hub.market.tariff import Tariff, TariffPeriod

_LOGGER = logging.getLogger(__name__)

RUNTIME_KEYS = ("tariff", "fee_per_kwh", "k_percent")
RESTART_KEYS = ("interval_seconds", "gate_closure_seconds")
ALL_KEYS = RUNTIME_KEYS + RESTART_KEYS
MAX_PERIODS = 48
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class SettingsError(ValueError):
    """A refused settings update. `reason` is `malformed` (400) or `invalid_setting` (422)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

    @property
    def status(self) -> int:
        return 400 if self.reason == "malformed" else 422


def _malformed(detail: str) -> SettingsError:
    return SettingsError("malformed", detail)


def _invalid(detail: str) -> SettingsError:
    return SettingsError("invalid_setting", detail)


def _int(raw: Any, name: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _malformed(f"{name} must be an integer")
    if not low <= raw <= high:
        raise _invalid(f"{name} must be within {low} to {high}")
    return raw


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def tariff_to_wire(tariff: Tariff) -> dict[str, Any]:
    return {
        "timezone": tariff.timezone,
        "periods": [
            {
                "start": hhmm(p.start_minute),
                "retail_price": p.retail_price,
                "feed_in_price": p.feed_in_price,
            }
            for p in tariff.periods
        ],
    }


def tariff_from_wire(raw: Any) -> Tariff:
    """A tariff from its JSON form; periods may come in any order and are sorted by start."""
    if not isinstance(raw, dict) or set(raw) - {"timezone", "periods"}:
        raise _malformed("tariff must be an object with 'timezone' and 'periods'")
    timezone = raw.get("timezone", "UTC")
    if not isinstance(timezone, str) or not timezone:
        raise _malformed("tariff.timezone must be a time zone name such as 'Europe/Berlin'")
    try:
        ZoneInfo(timezone)
    except (KeyError, ValueError) as err:
        raise _invalid(f"tariff.timezone {timezone!r} is not a known time zone") from err
    periods_raw = raw.get("periods")
    if not isinstance(periods_raw, list) or not 1 <= len(periods_raw) <= MAX_PERIODS:
        raise _malformed(f"tariff.periods must be a list of 1 to {MAX_PERIODS} periods")
    periods: list[TariffPeriod] = []
    for i, period in enumerate(periods_raw):
        where = f"tariff.periods[{i}]"
        if not isinstance(period, dict) or set(period) != {
            "start",
            "retail_price",
            "feed_in_price",
        }:
            raise _malformed(f"{where} needs exactly 'start', 'retail_price' and 'feed_in_price'")
        match = _HHMM.match(period["start"]) if isinstance(period["start"], str) else None
        if match is None:
            raise _malformed(f"{where}.start must be a time of day 'HH:MM'")
        retail = _int(period["retail_price"], f"{where}.retail_price", -PRICE_LIMIT, PRICE_LIMIT)
        feed_in = _int(period["feed_in_price"], f"{where}.feed_in_price", -PRICE_LIMIT, PRICE_LIMIT)
        if feed_in > retail:
            raise _invalid(f"{where}: the feed-in price must not be above the retail price")
        start = int(match.group(1)) * 60 + int(match.group(2))
        periods.append(TariffPeriod(start, retail, feed_in))
    periods.sort(key=lambda p: p.start_minute)
    for before, after in itertools.pairwise(periods):
        if before.start_minute == after.start_minute:
            raise _invalid(f"two tariff periods start at {hhmm(after.start_minute)}")
    return Tariff(tuple(periods), timezone=timezone)


def parse_update(raw: Any) -> dict[str, Any]:
    """Check an update's shape and types: {key: HubConfig field value}. Ranges that depend on
    other settings are checked by `apply`."""
    if not isinstance(raw, dict) or not raw:
        raise _malformed(f"send a JSON object with one or more of: {', '.join(ALL_KEYS)}")
    unknown = sorted(set(raw) - set(ALL_KEYS))
    if unknown:
        raise _malformed(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "tariff":
            values[key] = tariff_from_wire(value)
        elif key == "fee_per_kwh":
            values[key] = _int(value, key, 0, PRICE_LIMIT)
        elif key == "k_percent":
            values[key] = _int(value, key, 0, 100)
        else:  # interval_seconds, gate_closure_seconds: HubConfig checks the ranges
            values[key] = _int(value, key, 0, 4 * 3600)
    return values


def apply(config: HubConfig, values: Mapping[str, Any]) -> HubConfig:
    """The config with these values; HubConfig's own checks (e.g. interval length) apply."""
    try:
        return replace(config, **dict(values))
    except (ConfigError, ValueError) as err:
        raise _invalid(str(err)) from err


def to_wire(key: str, value: Any) -> Any:
    """The JSON form a parsed value is stored in."""
    return tariff_to_wire(value) if key == "tariff" else value


def apply_stored(config: HubConfig, stored: Mapping[str, Any]) -> HubConfig:
    """Lay the stored settings over `config` (at start-up). A stored value that no longer fits
    (e.g. a short interval saved by a demo hub) is skipped with a warning, never fatal."""
    known = {key: stored[key] for key in ALL_KEYS if key in stored}
    if not known:
        return config
    try:
        return apply(config, parse_update(known))
    except SettingsError:
        pass  # find the culprit: apply one by one
    for key, value in known.items():
        try:
            config = apply(config, parse_update({key: value}))
        except SettingsError as err:
            _LOGGER.warning("ignoring stored setting %s: %s", key, err.detail)
    return config


def apply_stored_at_start(config: HubConfig, stored: Mapping[str, Any]) -> HubConfig:
    """apply_stored, saying in the log where each stored setting in use comes from
    (docs/hub/configuration.md#precedence); one that overrides a different value written in the
    configuration file is a warning."""
    result = apply_stored(config, stored)
    for key in ALL_KEYS:
        if key in stored and to_wire(key, getattr(result, key)) == stored[key]:
            line, overrides = precedence_line(config, result, key)
            (_LOGGER.warning if overrides else _LOGGER.info)("%s", line)
    return result


def precedence_line(file_config: HubConfig, result: HubConfig, key: str) -> tuple[str, bool]:
    """E.g. ("fee_per_kwh: 2 from the dashboard (hub.toml says 5)", True): a setting the
    dashboard stored, and whether it overrides a different value in the configuration file."""
    used, before = _shown(key, getattr(result, key)), _shown(key, getattr(file_config, key))
    in_file = key in file_config.file_settings
    if file_config.config_file is None:
        where = f"no config file, default {before}"
    elif in_file:
        where = f"{Path(file_config.config_file).name} says {before}"
    else:
        where = f"{Path(file_config.config_file).name} leaves the default, {before}"
    return f"{key}: {used} from the dashboard ({where})", in_file and used != before


def _shown(key: str, value: Any) -> str:
    if key != "tariff":
        return str(value)
    periods = ", ".join(
        f"{hhmm(p.start_minute)} {p.retail_price}/{p.feed_in_price}" for p in value.periods
    )
    return f"[{periods}] {value.timezone}"


def pending_restart(config: HubConfig, stored: Mapping[str, Any]) -> dict[str, int]:
    """Stored interval settings the running hub does not use yet (they apply on restart)."""
    return {
        key: stored[key]
        for key in RESTART_KEYS
        if key in stored and stored[key] != getattr(config, key)
    }


MARKET_MODES = ("periodic_uniform_price", "periodic_network", "continuous")


def market_mode(config: HubConfig) -> str:
    """How the hub clears, as the page names it (see the `[network]` table of hub.toml)."""
    if config.network.market_mode == "continuous":
        return "continuous"
    return "periodic_network" if config.network.feeder is not None else "periodic_uniform_price"


def settings_view(config: HubConfig, stored: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "currency": config.currency,
        "market_mode": market_mode(config),
        "tariff": tariff_to_wire(config.tariff),
        "fee_per_kwh": config.fee_per_kwh,
        "k_percent": config.k_percent,
        "interval_seconds": config.interval_seconds,
        "gate_closure_seconds": config.gate_closure_seconds,
        "pending_restart": pending_restart(config, stored),
        "stored": sorted(key for key in stored if key in ALL_KEYS),
    }
