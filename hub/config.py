"""Hub configuration: defaults that work out of the box, overridable from a TOML file.

Every setting, its table, type and range: hub.config_schema (checked before anything else);
what each one does and every error message: docs/hub/configuration.md. Settings changed in the
dashboard are stored in the database and laid over these at start (hub.service.settings).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gridcoop_home.protocol.bids import BidLimits
from gridcoop_home.protocol.reading_rules import ReadingWindow

from hub.config_schema import ConfigError as ConfigError
from hub.config_schema import check_document
from hub.grid import (
    DEFAULT_LOADING_LIMIT,
    DEFAULT_VOLTAGE_MARGIN_PU,
    Feeder,
    FeederError,
    load_feeder,
)
from hub.ledger.service.settings import LedgerSettings, LedgerSettingsError
from hub.market.network import NetworkOptions
from hub.market.tariff import Tariff, TariffPeriod
from hub.market.types import MarketRules

MINUTE_MS = 60_000
DAY_MS = 24 * 60 * MINUTE_MS


MARKET_MODES = ("periodic", "continuous")
# The neighbourhood's connection limit when neither a feeder file nor `connection_limit_kw` is
# configured: a common rating of the secondary substation serving 100-200 homes (docs/feeder.md).
DEFAULT_CONNECTION_LIMIT_KW = 400.0


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """The `[limits]` table: what one client may ask of the hub (docs/hub/scale_out.md).

    Rates are token buckets: `*_per_second` refills, `*_burst` is the bucket size. Signed
    requests draw on their home key's bucket, unsigned ones (and signed ones that fail to
    authenticate) on their client IP's. Off by default for the library; `serve` turns them on.
    """

    enabled: bool = False
    key_per_second: float = 20.0
    key_burst: int = 200
    ip_per_second: float = 20.0
    ip_burst: int = 200
    handler_timeout_seconds: float = 30.0  # a request that takes longer gets 503 `timeout`
    websockets_per_key: int = 4  # open WebSockets one home key may hold
    trust_forwarded_for: bool = False  # behind a reverse proxy: the client IP from X-Forwarded-For

    def __post_init__(self) -> None:
        for name in ("key_per_second", "ip_per_second", "handler_timeout_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"limits.{name} must be a positive number")
        for name in ("key_burst", "ip_burst", "websockets_per_key"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"limits.{name} must be a positive integer")
        for name in ("enabled", "trust_forwarded_for"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"limits.{name} must be true or false")


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """The `[network]` table: the feeder the market must respect and how the market trades.

    `feeder` is the loaded feeder (None: the market ignores the network); `feeder_file` and
    `transformer` say where it came from. The other fields are hub.market.NetworkOptions.
    """

    market_mode: str = "periodic"
    feeder: Feeder | None = None
    feeder_file: str | None = None
    transformer: int | str | None = None
    backstop: str = "merit_order"
    must_serve_price: int | None = None
    voltage_margin_pu: float = DEFAULT_VOLTAGE_MARGIN_PU
    loading_limit: float = DEFAULT_LOADING_LIMIT
    # Without a feeder: the transformer's limit in kW (None: DEFAULT_CONNECTION_LIMIT_KW).
    connection_limit_kw: float | None = None

    def __post_init__(self) -> None:
        if self.market_mode not in MARKET_MODES:
            raise ConfigError(
                f"network.market_mode must be one of {list(MARKET_MODES)}, got {self.market_mode!r}"
            )
        _ = self.options  # NetworkOptions checks the ranges
        _check_connection_limit(self.connection_limit_kw, self.feeder is not None)

    @property
    def connection_kw(self) -> float:
        """The connection limit the market clears within when there is no feeder file."""
        limit = self.connection_limit_kw
        return DEFAULT_CONNECTION_LIMIT_KW if limit is None else limit

    @property
    def options(self) -> NetworkOptions:
        """What hub.market.clear_network needs to know."""
        try:
            return NetworkOptions(
                must_serve_price=self.must_serve_price,
                backstop=self.backstop,
                voltage_margin_pu=self.voltage_margin_pu,
                loading_limit=self.loading_limit,
            )
        except ValueError as err:
            raise ConfigError(f"network: {err}") from err

    @property
    def continuous(self) -> bool:
        return self.market_mode == "continuous"


@dataclass(frozen=True, slots=True)
class HubConfig:
    interval_seconds: int = 900
    gate_closure_seconds: int = 60
    bid_horizon_seconds: int = 48 * 3600
    fee_per_kwh: int = 0
    k_percent: int = 50
    currency: str = "EUR"
    tariff: Tariff = field(default_factory=lambda: Tariff.flat(30, 8))
    bid_limits: BidLimits = field(default_factory=BidLimits)
    request_window_ms: int = 5 * MINUTE_MS  # signed requests: allowed clock difference
    reading_max_age_ms: int = 7 * DAY_MS  # backlog uploaded after an outage
    reading_max_ahead_ms: int = MINUTE_MS
    join_code_ttl_ms: int = DAY_MS
    max_batch: int = 1000
    allow_short_intervals: bool = False  # the demo clears every few seconds
    # Seconds of real time one interval's energy is spread over for dispatch power (W). Equal to
    # interval_seconds except in the demo, where a few-second interval stands for 15 minutes.
    simulated_interval_seconds: int | None = None
    admin_token_sha256: str | None = None  # SHA-256 (hex) of the dashboard's admin token
    # Where the settings came from: the file and the top-level settings it wrote ("tariff" for
    # [[tariff]] or timezone). The dashboard's stored settings are laid over these at start.
    config_file: str | None = field(default=None, compare=False)
    file_settings: frozenset[str] = field(default=frozenset(), compare=False)
    ledger: LedgerSettings = field(default_factory=LedgerSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)

    def __post_init__(self) -> None:
        low = 1 if self.allow_short_intervals else 300
        if not low <= self.interval_seconds <= 900:
            raise ConfigError(f"interval_seconds must be within {low}-900")
        if (3600 % self.interval_seconds) and not self.allow_short_intervals:
            raise ConfigError("interval_seconds must divide an hour (300, 600, 900...)")
        if not 0 <= self.gate_closure_seconds < self.interval_seconds * 4:
            raise ConfigError("gate_closure_seconds must be >= 0 and below 4 intervals")
        if not 0 <= self.k_percent <= 100:
            raise ConfigError("k_percent must be within 0-100")
        if self.fee_per_kwh < 0:
            raise ConfigError("fee_per_kwh must not be negative")
        if not 1 <= self.max_batch <= 10_000:
            raise ConfigError("max_batch must be within 1-10000")

    @property
    def dispatch_seconds(self) -> int:
        return self.simulated_interval_seconds or self.interval_seconds

    @property
    def reading_window(self) -> ReadingWindow:
        return ReadingWindow(self.reading_max_age_ms, self.reading_max_ahead_ms)

    def market_rules(self, interval_start: int) -> MarketRules:
        """The rules an interval trades under: its grid prices, the fee and k."""
        prices = self.tariff.prices_at(interval_start)
        return MarketRules(
            retail_price=prices.retail_price,
            feed_in_price=prices.feed_in_price,
            fee_per_kwh=self.fee_per_kwh,
            k_percent=self.k_percent,
        )

    def interval_start_of(self, utc_seconds: int) -> int:
        return utc_seconds - utc_seconds % self.interval_seconds

    def gate_closure_of(self, interval_start: int) -> int:
        return interval_start - self.gate_closure_seconds

    def next_open_interval(self, utc_seconds: float) -> int:
        """The earliest interval whose gate is still open at this moment."""
        start = self.interval_start_of(int(utc_seconds)) + self.interval_seconds
        while self.gate_closure_of(start) <= utc_seconds:
            start += self.interval_seconds
        return start

    def public_info(self) -> dict[str, Any]:
        return {
            "interval_seconds": self.interval_seconds,
            "gate_closure_seconds": self.gate_closure_seconds,
            "bid_horizon_seconds": self.bid_horizon_seconds,
            "fee_per_kwh": self.fee_per_kwh,
            "k_percent": self.k_percent,
            "currency": self.currency,
            "timezone": self.tariff.timezone,
            "market_mode": self.network.market_mode,
            "feeder_configured": self.network.feeder is not None,
            "bid_limits": {
                "price_min": self.bid_limits.price_min,
                "price_max": self.bid_limits.price_max,
                "max_step_wh": self.bid_limits.max_step_wh,
                "max_steps": self.bid_limits.max_steps,
            },
        }


_SIMPLE_KEYS = {
    f.name
    for f in fields(HubConfig)
    if f.name
    not in (
        "tariff",
        "bid_limits",
        "allow_short_intervals",
        "simulated_interval_seconds",
        "config_file",
        "file_settings",
        "ledger",
        "network",
        "limits",
    )
}


def load_config(
    path: Path | None,
    ledger_by_default: bool = False,
    limits_by_default: bool = False,
    **overrides: Any,
) -> HubConfig:
    """Read a TOML file (if given) on top of the defaults; unknown keys are an error.

    `ledger_by_default` turns the ledger on unless the file says `[ledger] enabled = false`
    (`serve` does this: a hub keeps its ledger unless the operator opts out), and
    `limits_by_default` the request limits likewise."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read config {path}: {err}") from err
    try:
        return _build(data, path, ledger_by_default, limits_by_default, overrides)
    except ConfigError as err:
        if path is None or str(err).startswith(f"cannot read config {path}"):
            raise
        raise ConfigError(f"{path}: {err}") from err


def _build(
    data: dict[str, Any],
    path: Path | None,
    ledger_by_default: bool,
    limits_by_default: bool,
    overrides: dict[str, Any],
) -> HubConfig:
    check_document(data)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SIMPLE_KEYS:
            values[key] = value
        elif key == "allow_short_intervals":
            values[key] = value  # test and demo configs clear every few seconds
    written = set(values) | ({"tariff"} if "tariff" in data or "timezone" in data else set())
    source: dict[str, Any] = (
        {"config_file": str(path), "file_settings": frozenset(written)} if path else {}
    )
    try:
        config = HubConfig(**values, **source, **overrides)
        if "tariff" in data or "timezone" in data:
            config = replace(config, tariff=_parse_tariff(data))
        if "bid_limits" in data:
            config = replace(config, bid_limits=_parse_bid_limits(data["bid_limits"]))
        ledger_table = {"enabled": ledger_by_default, **data.get("ledger", {})}
        config = replace(config, ledger=_parse_ledger(ledger_table))
        limits_table = {"enabled": limits_by_default, **_table(data.get("limits", {}), "limits")}
        unknown = set(limits_table) - {f.name for f in fields(LimitSettings)}
        if unknown:
            raise ConfigError(f"unknown limits setting(s) {sorted(unknown)}")
        config = replace(config, limits=LimitSettings(**limits_table))
        if "network" in data:
            base = path.parent if path is not None else Path.cwd()
            config = replace(config, network=parse_network(data["network"], base))
    except TypeError as err:
        raise ConfigError(f"bad setting type: {err}") from err
    return config


_NETWORK_KEYS = {
    "feeder_file",
    "transformer",
    "market_mode",
    "backstop",
    "must_serve_price",
    "voltage_margin_pu",
    "loading_limit",
    "connection_limit_kw",
}


def parse_network(raw: Any, base: Path) -> NetworkSettings:
    """The `[network]` table; `feeder_file` is relative to `base` (the config file's folder).
    The feeder is loaded here, so a wrong one stops the hub at start, naming the element."""
    if not isinstance(raw, dict):
        raise ConfigError("[network] must be a table")
    unknown = set(raw) - _NETWORK_KEYS
    if unknown:
        raise ConfigError(f"unknown network setting(s) {sorted(unknown)}")
    _typed(raw, "market_mode", str)
    _typed(raw, "backstop", str)
    _typed(raw, "feeder_file", str)
    _typed(raw, "transformer", (int, str))
    _typed(raw, "must_serve_price", int)
    _typed(raw, "voltage_margin_pu", (int, float))
    _typed(raw, "loading_limit", (int, float))
    _typed(raw, "connection_limit_kw", (int, float))
    values = {key: value for key, value in raw.items() if key not in ("feeder_file",)}
    for key in ("voltage_margin_pu", "loading_limit", "connection_limit_kw"):
        if key in values:
            values[key] = float(values[key])
    feeder_file = raw.get("feeder_file")
    if feeder_file is None:
        if "transformer" in raw:
            raise ConfigError("network.transformer needs network.feeder_file")
        return NetworkSettings(**values)
    path = base / feeder_file
    try:
        feeder = load_feeder(path, transformer=raw.get("transformer"))
    except FeederError as err:
        where = "" if err.element.startswith("file ") else f" {str(path)!r}"  # named already
        raise ConfigError(f"network.feeder_file{where}: {err}") from err
    return NetworkSettings(**values, feeder=feeder, feeder_file=str(path))


def _check_connection_limit(limit: float | None, with_feeder: bool) -> None:
    if limit is None:
        return
    if with_feeder:
        raise ConfigError(
            "network.connection_limit_kw is for hubs without a feeder file; "
            "with network.feeder_file the transformer's limit_kva applies"
        )
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 < limit < 1e6:
        raise ConfigError(f"network.connection_limit_kw must be a number of kW > 0, got {limit!r}")


def _table(raw: Any, name: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    return raw


def _typed(raw: dict[str, Any], key: str, kinds: type | tuple[type, ...]) -> None:
    value = raw.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
        raise ConfigError(f"network.{key} has the wrong type: {value!r}")


def _parse_ledger(raw: Any) -> LedgerSettings:
    if not isinstance(raw, dict):
        raise ConfigError("[ledger] must be a table")
    known = {f.name for f in fields(LedgerSettings)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown ledger setting(s) {sorted(unknown)}")
    values = dict(raw)
    if "green_kinds" in values:
        values["green_kinds"] = tuple(values["green_kinds"])
    try:
        return LedgerSettings(**values)
    except LedgerSettingsError as err:
        raise ConfigError(str(err)) from err


def _parse_bid_limits(raw: dict[str, Any]) -> BidLimits:
    limits = BidLimits(**raw)
    if limits.price_min >= limits.price_max:
        raise ConfigError(
            f"bid_limits.price_min ({limits.price_min}) must be below bid_limits.price_max "
            f"({limits.price_max})"
        )
    return limits


def _parse_tariff(data: dict[str, Any]) -> Tariff:
    raw_periods = data.get("tariff", [{"start": "00:00", "retail_price": 30, "feed_in_price": 8}])
    periods = []
    for i, raw in enumerate(raw_periods):
        try:
            hours, minutes = str(raw["start"]).split(":")
            periods.append(
                TariffPeriod(
                    start_minute=int(hours) * 60 + int(minutes),
                    retail_price=int(raw["retail_price"]),
                    feed_in_price=int(raw["feed_in_price"]),
                )
            )
        except (KeyError, ValueError) as err:
            raise ConfigError(
                f"tariff[{i}] needs start = 'HH:MM', retail_price and feed_in_price: {err}"
            ) from err
    timezone = str(data.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError) as err:
        raise ConfigError(
            f"timezone {timezone!r} is not a known time zone (e.g. 'Europe/Berlin')"
        ) from err
    try:
        return Tariff(tuple(periods), timezone=timezone)
    except (ValueError, KeyError) as err:
        raise ConfigError(f"tariff: {err}") from err
