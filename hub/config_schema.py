"""Every hub.toml setting: where it belongs, its type and its range, checked before the hub starts.

`check_document` walks the parsed TOML once and raises ConfigError naming the first setting
that is wrong: an unknown key (with the table it belongs in, when it belongs in another one), a
wrong type (money is always an integer number of minor units: `fee_per_kwh = 0.5` is refused,
never rounded), a value out of range. Checks that span several settings (interval length against
the hour, feed-in price against retail price...) stay with the dataclasses in hub.config.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.bids import MAX_STEPS_PER_SIDE

PRICE_LIMIT = 1_000_000  # minor units per kWh; far beyond any real tariff
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
TOP = "top level"


class ConfigError(ValueError):
    """The configuration file is wrong; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One setting: `kind` is int, number, bool, str, int_or_str or str_list."""

    kind: str
    low: float | None = None
    high: float | None = None
    unit: str = ""  # said in a type error: "(minor units per kWh)"
    pattern: re.Pattern[str] | None = None
    example: str = ""  # what the pattern means, for its error message


def _int(low: float | None = None, high: float | None = None, unit: str = "") -> Rule:
    return Rule("int", low, high, unit)


_MONEY = "minor units per kWh, e.g. cents"
_PRICE = _int(-PRICE_LIMIT, PRICE_LIMIT, _MONEY)

SECTIONS: dict[str, dict[str, Rule]] = {
    TOP: {
        "interval_seconds": _int(1, 900, "seconds"),
        "gate_closure_seconds": _int(0, 4 * 900, "seconds"),
        "bid_horizon_seconds": _int(900, 7 * 86400, "seconds"),
        "fee_per_kwh": _int(0, PRICE_LIMIT, _MONEY),
        "k_percent": _int(0, 100),
        "currency": Rule("str", pattern=_CURRENCY, example="a three-letter code such as 'EUR'"),
        "timezone": Rule("str"),
        "request_window_ms": _int(1000, 3_600_000, "milliseconds"),
        "reading_max_age_ms": _int(60_000, 90 * 86_400_000, "milliseconds"),
        "reading_max_ahead_ms": _int(0, 3_600_000, "milliseconds"),
        "join_code_ttl_ms": _int(60_000, 30 * 86_400_000, "milliseconds"),
        "max_batch": _int(1, 10_000),
        "admin_token_sha256": Rule(
            "str", pattern=_SHA256, example="64 hex digits from `gridcoop-hub admin-token`"
        ),
        "allow_short_intervals": Rule("bool"),
    },
    "tariff": {
        "start": Rule("str", pattern=_HHMM, example="a time of day 'HH:MM'"),
        "retail_price": _PRICE,
        "feed_in_price": _PRICE,
    },
    "bid_limits": {
        "price_min": _PRICE,
        "price_max": _PRICE,
        "max_step_wh": _int(1, 10_000_000, "Wh"),
        "max_steps": _int(1, MAX_STEPS_PER_SIDE),
    },
    "network": {
        "feeder_file": Rule("str"),
        "transformer": Rule("int_or_str"),
        "market_mode": Rule("str"),
        "backstop": Rule("str"),
        "must_serve_price": _PRICE,
        "voltage_margin_pu": Rule("number"),
        "loading_limit": Rule("number"),
        "connection_limit_kw": Rule("number", 0.001, None, "kW"),
    },
    "ledger": {
        "enabled": Rule("bool"),
        "key_file": Rule("str"),
        "threshold": _int(1, 100, "signatures"),
        "token_unit_wh": _int(1, 1_000_000, "Wh"),
        "green_kinds": Rule("str_list"),
        "settlement_deadline_seconds": _int(0, 7 * 86400, "seconds"),
        "max_reading_gap_seconds": _int(1, 7 * 86400, "seconds"),
        "flex_tolerance_percent": _int(0, 100),
        "flex_idle_wh": _int(0, 1_000_000, "Wh"),
        "bls_backend": Rule("str"),
        "readings_per_block": _int(1, 10_000_000),
    },
    "limits": {
        "enabled": Rule("bool"),
        "key_per_second": Rule("number"),
        "key_burst": Rule("int"),
        "ip_per_second": Rule("number"),
        "ip_burst": Rule("int"),
        "handler_timeout_seconds": Rule("number"),
        "websockets_per_key": Rule("int"),
        "trust_forwarded_for": Rule("bool"),
    },
}
TABLES = tuple(name for name in SECTIONS if name != TOP)


def check_admin_token_env(name: str, value: str | None) -> None:
    """The admin token's hash may come from the environment instead: same rule as the file's."""
    if value and not _SHA256.match(value.strip()):
        raise ConfigError(
            f"the environment variable {name} must be 64 hex digits from "
            f"`gridcoop-hub admin-token`, got {len(value)} characters"
        )


def check_document(data: Mapping[str, Any]) -> None:
    """Raise ConfigError for the first wrong setting of a parsed hub.toml."""
    for key, value in data.items():
        if key in TABLES:
            _check_table(key, value)
        elif key in SECTIONS[TOP]:
            check_value(key, SECTIONS[TOP][key], value)
        else:
            raise ConfigError(f"unknown setting {key!r} at the top level{_hint(key, TOP)}")


def _check_table(name: str, value: Any) -> None:
    if name == "tariff":
        if not isinstance(value, list):
            raise ConfigError("tariff must be a list of periods, each starting with [[tariff]]")
        for i, period in enumerate(value):
            _check_keys(f"tariff[{i}]", "tariff", period)
            missing = [key for key in SECTIONS["tariff"] if key not in period]
            if missing:
                raise ConfigError(f"tariff[{i}] needs start, retail_price and feed_in_price")
        return
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a table: a [{name}] line followed by its settings")
    _check_keys(name, name, value)


def _check_keys(where: str, section: str, table: Any) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    rules = SECTIONS[section]
    for key, value in table.items():
        if key not in rules:
            raise ConfigError(f"unknown setting {key!r} in [{section}]{_hint(key, section)}")
        check_value(f"{where}.{key}", rules[key], value)


def _hint(key: str, section: str) -> str:
    """Where a key that does not belong in `section` does belong, or what it may be a typo of."""
    homes = [name for name, rules in SECTIONS.items() if key in rules and name != section]
    if TOP in homes:
        return (
            f": {key} is a top-level setting; move it above the first [table] or [[tariff]] line"
            " (in TOML a line belongs to the last [table] above it)"
        )
    if homes:
        return f": it belongs in [{homes[0]}]"
    close = difflib.get_close_matches(key, list(SECTIONS[section]), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_value(name: str, rule: Rule, value: Any) -> None:
    """Raise ConfigError unless `value` has the rule's type and lies in its range."""
    _check_type(name, rule, value)
    if rule.pattern is not None and not rule.pattern.match(value):
        raise ConfigError(f"{name} must be {rule.example}, got {value!r}")
    if rule.kind in ("int", "number"):
        low = -float("inf") if rule.low is None else rule.low
        high = float("inf") if rule.high is None else rule.high
        if not low <= value <= high:
            raise ConfigError(
                f"{name} must be within {_num(rule.low)} to {_num(rule.high)}, got {value!r}"
            )


def _num(bound: float | None) -> str:
    return "any" if bound is None else f"{bound:g}" if isinstance(bound, float) else str(bound)


def _check_type(name: str, rule: Rule, value: Any) -> None:
    unit = f" ({rule.unit})" if rule.unit else ""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if rule.kind == "int" and not is_int:
        wanted = f"an integer{unit}"
    elif rule.kind == "number" and not (is_int or isinstance(value, float)):
        wanted = "a number"
    elif rule.kind == "bool" and not isinstance(value, bool):
        wanted = "true or false"
    elif rule.kind == "str" and not isinstance(value, str):
        wanted = "a string in quotes"
    elif rule.kind == "int_or_str" and not (is_int or isinstance(value, str)):
        wanted = "a name in quotes or an index"
    elif rule.kind == "str_list" and not (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    ):
        wanted = 'a list of strings, e.g. ["pv"]'
    else:
        return
    rounded = rule.kind == "int" and isinstance(value, float)
    never = " (the hub never rounds a setting)" if rounded else ""
    raise ConfigError(f"{name} must be {wanted}, got {value!r}{never}")
