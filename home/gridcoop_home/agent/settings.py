"""Typed reading of TOML values: every error names the setting (`mqtt.port must be …`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(Exception):
    """The agent's configuration is wrong; the message names the setting and what it needs."""


def table(data: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}{key} must be a table ([{where}{key}])")
    return value


def tables(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"{key} must be a list of tables ([[{key}]])")
    return value


def string(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        if value is None:
            raise ConfigError(f"{where}{key} is missing (a text setting)")
        raise ConfigError(f"{where}{key} must be a non-empty string, got {value!r}")
    return value


def choice(
    data: Mapping[str, Any], key: str, where: str, options: tuple[str, ...], default: str | None
) -> str:
    value = string(data, key, where, default)
    if value not in options:
        raise ConfigError(f"{where}{key} must be one of {list(options)}, got {value!r}")
    return value


def integer(
    data: Mapping[str, Any], key: str, where: str, default: int | None, low: int, high: int
) -> int:
    value = data.get(key, default)
    if value is None:
        raise ConfigError(f"{where}{key} is missing (an integer from {low} to {high})")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}{key} must be an integer from {low} to {high}, got {value!r}")
    return value


def number(
    data: Mapping[str, Any], key: str, where: str, default: float | None, low: float, high: float
) -> float:
    value = data.get(key, default)
    if value is None:
        raise ConfigError(f"{where}{key} is missing (a number from {low:g} to {high:g})")
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}{key} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def boolean(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}{key} must be true or false, got {value!r}")
    return value


def no_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    """A misspelt setting is an error, not silently ignored."""
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}{unknown[0]} is not a setting here (known: {', '.join(sorted(known))})"
        )
