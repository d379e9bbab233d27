"""hub.toml is checked whole before the hub starts: every error names the setting and the file.

The messages asserted here are the ones docs/hub/configuration.md#errors lists.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from hub.config import ConfigError, HubConfig, load_config
from hub.config_schema import SECTIONS
from hub.service import settings


def hub_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str) -> str:
    """The message load_config refuses this file with; it always begins with the file's path."""
    path = hub_toml(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


TARIFF = '[[tariff]]\nstart = "00:00"\nretail_price = {retail}\nfeed_in_price = 7\n'


def test_money_must_be_an_integer_number_of_minor_units_never_rounded(tmp_path: Path) -> None:
    assert refused(tmp_path, "fee_per_kwh = 0.5\n") == (
        "fee_per_kwh must be an integer (minor units per kWh, e.g. cents), got 0.5"
        " (the hub never rounds a setting)"
    )
    assert refused(tmp_path, TARIFF.format(retail=22.5)).startswith(
        "tariff[0].retail_price must be an integer (minor units per kWh, e.g. cents), got 22.5"
    )
    assert load_config(hub_toml(tmp_path, TARIFF.format(retail=22))).tariff.periods[0] == (
        HubConfig().tariff.periods[0].__class__(0, 22, 7)
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("k_percent = 101", "k_percent must be within 0 to 100, got 101"),
        ("fee_per_kwh = -1", "fee_per_kwh must be within 0 to 1000000, got -1"),
        ("k_percent = true", "k_percent must be an integer, got True"),
        ('interval_seconds = "900"', "interval_seconds must be an integer (seconds), got '900'"),
        ("interval_seconds = 420", "interval_seconds must divide an hour"),
        ("max_batch = 0", "max_batch must be within 1 to 10000, got 0"),
        ('currency = "euro"', "currency must be a three-letter code such as 'EUR', got 'euro'"),
        ('timezone = "Mars/Olympus"', "timezone 'Mars/Olympus' is not a known time zone"),
        ('admin_token_sha256 = "abc"', "admin_token_sha256 must be 64 hex digits"),
        ("request_window_ms = 10", "request_window_ms must be within 1000 to 3600000, got 10"),
        ("[ledger]\nthreshold = 0", "ledger.threshold must be within 1 to 100, got 0"),
        ("[ledger]\nthreshold = 1.5", "ledger.threshold must be an integer (signatures), got 1.5"),
        ('[ledger]\ngreen_kinds = "pv"', "ledger.green_kinds must be a list of strings"),
        ('[ledger]\nenabled = "yes"', "ledger.enabled must be true or false, got 'yes'"),
        ("[bid_limits]\nmax_steps = 17", "bid_limits.max_steps must be within 1 to 16, got 17"),
        (
            "[bid_limits]\nprice_min = 10\nprice_max = 10",
            "bid_limits.price_min (10) must be below bid_limits.price_max (10)",
        ),
        ("[limits]\nkey_burst = 0", "limits.key_burst must be a positive integer"),
        ('[network]\nloading_limit = "x"', "network.loading_limit must be a number, got 'x'"),
        ("[network]\nloading_limit = 2", "loading_limit must be within"),
        (TARIFF.format(retail=5), "feed-in price above retail price"),
        ('[[tariff]]\nstart = "7:00"\nretail_price = 9\nfeed_in_price = 1', "'HH:MM'"),
        ('[[tariff]]\nstart = "07:00"', "tariff[0] needs start, retail_price and feed_in_price"),
        ("[tariff]\nstart = 1", "tariff must be a list of periods, each starting with [[tariff]]"),
        ("ledger = 1", "ledger must be a table"),
    ],
)
def test_each_wrong_value_is_refused_naming_the_setting(
    tmp_path: Path, line: str, message: str
) -> None:
    assert message in refused(tmp_path, line + "\n")


def test_a_top_level_line_appended_after_a_table_is_refused_saying_where_it_belongs(
    tmp_path: Path,
) -> None:
    digest = "ab" * 32
    text = f'[bid_limits]\nprice_max = 900\nadmin_token_sha256 = "{digest}"\n'  # as appended

    message = refused(tmp_path, text)

    assert message == (
        "unknown setting 'admin_token_sha256' in [bid_limits]: admin_token_sha256 is a top-level"
        " setting; move it above the first [table] or [[tariff]] line (in TOML a line belongs"
        " to the last [table] above it)"
    )
    moved = f'admin_token_sha256 = "{digest}"\n[bid_limits]\nprice_max = 900\n'
    assert load_config(hub_toml(tmp_path, moved)).admin_token_sha256 == digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("threshold = 2\n", "unknown setting 'threshold' at the top level: it belongs in [ledger]"),
        (
            "[network]\nthreshold = 2\n",
            "unknown setting 'threshold' in [network]: it belongs in [ledger]",
        ),
        (
            TARIFF.format(retail=22) + "fee_per_kwh = 2\n",
            "unknown setting 'fee_per_kwh' in [tariff]: fee_per_kwh is a top-level setting",
        ),
        ("fee_per_kw = 2\n", "unknown setting 'fee_per_kw' at the top level"),
        ("[ledger]\nthreshhold = 2\n", "in [ledger]; did you mean 'threshold'?"),
        ("[ledgers]\nthreshold = 2\n", "unknown setting 'ledgers' at the top level"),
    ],
)
def test_unknown_and_misplaced_keys_are_refused_with_a_hint(
    tmp_path: Path, text: str, message: str
) -> None:
    assert message in refused(tmp_path, text)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read config .*hub\.toml"):
        load_config(hub_toml(tmp_path, "fee_per_kwh = \n"))


def test_every_documented_setting_is_in_the_schema() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs/hub/configuration.md").read_text()
    documented = set(re.findall(r"^([a-z_]+) = ", page, re.M))
    known = {key for rules in SECTIONS.values() for key in rules}
    assert documented <= known, documented - known


def test_a_full_valid_file_loads_and_remembers_what_it_set(tmp_path: Path) -> None:
    text = (
        'fee_per_kwh = 5\nk_percent = 40\ncurrency = "CHF"\ntimezone = "Europe/Zurich"\n'
        + TARIFF.format(retail=22)
        + "[bid_limits]\nprice_min = -100\n[ledger]\nthreshold = 2\n[limits]\nkey_burst = 50\n"
    )
    config = load_config(hub_toml(tmp_path, text))

    assert (config.fee_per_kwh, config.k_percent, config.ledger.threshold) == (5, 40, 2)
    assert config.config_file == str(tmp_path / "hub.toml")
    assert config.file_settings == {"fee_per_kwh", "k_percent", "currency", "tariff"}


def test_the_dashboard_wins_and_the_start_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file_config = load_config(hub_toml(tmp_path, "fee_per_kwh = 5\n"))
    stored = {"fee_per_kwh": 2, "k_percent": 70, "interval_seconds": 420}

    with caplog.at_level(logging.INFO, logger="hub.service.settings"):
        config = settings.apply_stored_at_start(file_config, stored)

    assert (config.fee_per_kwh, config.k_percent, config.interval_seconds) == (2, 70, 900)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("WARNING", "fee_per_kwh: 2 from the dashboard (hub.toml says 5)") in lines
    assert ("INFO", "k_percent: 70 from the dashboard (hub.toml leaves the default, 50)") in lines
    assert not any(message.startswith("interval_seconds:") for _, message in lines)
    assert any("ignoring stored setting interval_seconds" in message for _, message in lines)


def test_without_a_file_the_dashboard_value_is_set_against_the_default() -> None:
    line, overrides = settings.precedence_line(HubConfig(), HubConfig(fee_per_kwh=3), "fee_per_kwh")
    assert (line, overrides) == (
        "fee_per_kwh: 3 from the dashboard (no config file, default 0)",
        False,
    )
