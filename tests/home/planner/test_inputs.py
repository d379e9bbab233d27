"""Bad input raises naming the field; missing forecasts fall back with a warning."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from gridcoop_home.planner import EV, History, PlannerInputError, PlanRequest, Site, plan
from gridcoop_home.planner.clearsky import clear_sky_pv_w

from tests.home.planner.factory import START, at, battery, hourly, load, request

GOOD_EV = EV(
    capacity_wh=50_000, soc_wh=10_000, target_wh=40_000, departure=at(8), max_charge_w=7_000
)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ev": replace(GOOD_EV, target_wh=60_000)}, "ev.target_wh"),
        ({"ev": replace(GOOD_EV, soc_wh=-1)}, "ev.soc_wh"),
        (
            {"loads": (load(duration_min=180, latest_finish=at(2)),)},
            "loads[dishwasher].latest_finish",
        ),
        ({"loads": (load(id="Dish Washer"),)}, "loads[Dish Washer].id"),
        ({"loads": (load(), load())}, "loads[dishwasher].id"),
        ({"loads": (load(energy_wh=1_000),)}, "loads[dishwasher].energy_wh"),
        ({"battery": battery(capacity_wh=-5_000)}, "battery.capacity_wh"),
        ({"battery": battery(reserve_wh=20_000)}, "battery.reserve_wh"),
        ({"battery": battery(charge_efficiency=1.5)}, "battery.charge_efficiency"),
        ({"pv_forecast_w": [0.0] * 7}, "pv_forecast_w"),
        ({"base_load_forecast_w": [-1.0] * 32}, "base_load_forecast_w"),
        ({"price_forecast": [20.0] * 33}, "price_forecast"),
        ({"site": Site(grid_limit_w=0)}, "site.grid_limit_w"),
        ({"start": datetime(2026, 1, 5)}, "start"),
        ({"start": START + timedelta(minutes=7)}, "start"),
        ({"slots": 500}, "slots"),
    ],
)
def test_bad_input_raises_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PlannerInputError) as raised:
        plan(request([20] * 8, **changes))
    assert raised.value.field == field
    assert isinstance(raised.value, ValueError)


def test_mismatched_tariff_length_names_the_tariff() -> None:
    req = request([20] * 8)
    bad = replace(req, tariffs=replace(req.tariffs, retail=[40.0] * 31))
    with pytest.raises(PlannerInputError, match=r"tariffs\.retail"):
        plan(bad)


def bare(**changes: Any) -> PlanRequest:
    """A request without PV, base-load or price forecasts."""
    return request(
        [20] * 24,
        pv_forecast_w=None,
        base_load_forecast_w=None,
        price_forecast=None,
        market_outputs=False,
        **changes,
    )


def test_missing_forecasts_fall_back_with_warnings_not_errors() -> None:
    result = plan(bare(site=Site(grid_limit_w=10_000, latitude=48, longitude=11, pv_peak_w=5_000)))
    text = " | ".join(result.warnings)
    assert "PV forecast missing" in text
    assert "flat 400 W" in text
    assert "planning against grid tariffs" in text
    pv = result.schedule.pv_used_w + result.schedule.pv_curtailed_w
    assert pv[0] == 0  # midnight
    assert max(result.schedule.pv_used_w) + max(result.schedule.pv_curtailed_w) > 500
    assert result.schedule.base_load_w[0] == 400


def history(weeks: int, watts: float = 700.0) -> list[tuple[datetime, float]]:
    """`weeks` weeks of 15-minute samples ending where the plan starts."""
    slots = weeks * 7 * 96
    return [(START - (i + 1) * timedelta(minutes=15), watts) for i in range(slots)]


def test_base_load_comes_from_same_weekday_history_when_long_enough() -> None:
    result = plan(bare(history=History(base_load_w=history(weeks=3))))
    assert not any("base-load" in w for w in result.warnings)
    assert result.schedule.base_load_w[0] == pytest.approx(700)


def test_short_base_load_history_falls_back_to_mean_daily_profile() -> None:
    samples = [(t, w) for t, w in history(weeks=1) if START - t <= timedelta(days=2)]
    result = plan(bare(history=History(base_load_w=samples)))
    assert any("mean daily profile" in w for w in result.warnings)
    assert result.schedule.base_load_w[0] == pytest.approx(700)


def test_price_forecast_comes_from_recent_clearing_prices() -> None:
    prices = [(t, 17.0) for t, _ in history(weeks=1)]
    result = plan(bare(history=History(clearing_prices=prices)))
    assert not any("grid tariffs" in w for w in result.warnings)
    assert result.schedule.buy_price[0] == 17.0


def test_pv_fallback_scales_clear_sky_by_recent_yield() -> None:
    site = Site(grid_limit_w=10_000, latitude=48, longitude=11, pv_peak_w=5_000)
    noon = START - timedelta(hours=12)
    half = [(noon, clear_sky_pv_w(48, 11, 5_000, noon) / 2)]  # it made half of clear sky
    result = plan(bare(site=site, history=History(pv_w=half)))
    assert any("recent yield ratio 0.50" in w for w in result.warnings)


def test_clear_sky_is_zero_at_night_and_larger_in_summer() -> None:
    def noon(month: int) -> datetime:
        return datetime(2026, month, 21, 11, 0, tzinfo=UTC)

    assert clear_sky_pv_w(48, 11, 5_000, datetime(2026, 6, 21, 0, 0, tzinfo=UTC)) == 0
    assert clear_sky_pv_w(48, 11, 5_000, noon(6)) > clear_sky_pv_w(48, 11, 5_000, noon(12)) > 0
    assert 3_500 < clear_sky_pv_w(48, 11, 5_000, noon(6)) < 5_000


def test_hourly_helper_sanity() -> None:
    assert hourly([1, 2]) == [1.0] * 4 + [2.0] * 4
