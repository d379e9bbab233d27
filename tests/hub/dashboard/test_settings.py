"""Settings parsing and layering, without a server."""

from __future__ import annotations

import pytest

from hub.config import HubConfig
from hub.market.tariff import Tariff, TariffPeriod
from hub.service import settings
from hub.service.settings import SettingsError


def test_tariffs_round_trip_and_sort_by_start() -> None:
    wire = {
        "timezone": "Europe/Moscow",
        "periods": [
            {"start": "23:00", "retail_price": 5, "feed_in_price": 2},
            {"start": "07:00", "retail_price": 7, "feed_in_price": 2},
        ],
    }
    tariff = settings.tariff_from_wire(wire)
    assert tariff == Tariff(
        (TariffPeriod(7 * 60, 7, 2), TariffPeriod(23 * 60, 5, 2)), timezone="Europe/Moscow"
    )
    assert settings.tariff_from_wire(settings.tariff_to_wire(tariff)) == tariff


def test_errors_name_the_setting() -> None:
    with pytest.raises(SettingsError) as err:
        settings.parse_update(
            {"tariff": {"periods": [{"start": "00:00", "retail_price": 9, "feed_in_price": 10}]}}
        )
    assert err.value.status == 422
    assert "tariff.periods[0]" in err.value.detail
    with pytest.raises(SettingsError) as err:
        settings.parse_update({"k_percent": 2.5})
    assert (err.value.status, err.value.detail) == (400, "k_percent must be an integer")


def test_stored_settings_are_laid_over_the_config() -> None:
    stored = {
        "fee_per_kwh": 2,
        "interval_seconds": 300,
        "tariff": {
            "timezone": "UTC",
            "periods": [{"start": "00:00", "retail_price": 25, "feed_in_price": 6}],
        },
        "something_else": True,  # unknown keys belong to someone else: left alone
    }
    config = settings.apply_stored(HubConfig(), stored)
    assert (config.fee_per_kwh, config.interval_seconds) == (2, 300)
    assert config.tariff.prices_at(0).retail_price == 25
    assert settings.pending_restart(HubConfig(), stored) == {"interval_seconds": 300}
    assert settings.pending_restart(config, stored) == {}


def test_a_bad_stored_value_is_skipped_but_the_others_apply() -> None:
    config = settings.apply_stored(HubConfig(), {"k_percent": 101, "fee_per_kwh": 4})
    assert (config.k_percent, config.fee_per_kwh) == (50, 4)


def test_short_demo_intervals_only_where_the_config_allows_them() -> None:
    assert settings.apply_stored(HubConfig(), {"interval_seconds": 5}).interval_seconds == 900
    demo = HubConfig(interval_seconds=4, gate_closure_seconds=2, allow_short_intervals=True)
    assert settings.apply_stored(demo, {"interval_seconds": 5}).interval_seconds == 5
