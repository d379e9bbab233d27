"""Deferrable loads and their discomfort prices."""

from __future__ import annotations

import pytest
from gridcoop_home.planner import Plan, plan

from tests.home.planner.factory import START, at, hourly, load, request

# Expensive now, cheap from hour 4.
DEAR_THEN_CHEAP = [30] * 4 + [10] * 4


def start_hour(result_plan: Plan, load_id: str = "dishwasher") -> float:
    outcome = next(o for o in result_plan.loads if o.load_id == load_id)
    assert outcome.start is not None
    return float((outcome.start - START).total_seconds() / 3600)


def test_low_discomfort_load_is_deferred_to_cheap_hours() -> None:
    result = plan(request(DEAR_THEN_CHEAP, loads=(load(discomfort_per_hour=1),)))
    assert start_hour(result) >= 4
    assert result.explanations[0].startswith("deferring dishwasher to 04:00")


def test_high_discomfort_load_runs_now() -> None:
    result = plan(request(DEAR_THEN_CHEAP, loads=(load(discomfort_per_hour=100),)))
    assert start_hour(result) == 0
    assert result.dispatch.loads_on == ("dishwasher",)


@pytest.mark.parametrize("interruptible", [False, True])
def test_discomfort_price_is_the_switching_price(interruptible: bool) -> None:
    """Below the discomfort price the load runs now; above it, it is deferred."""
    the_load = load(discomfort_per_hour=8, duration_min=15, interruptible=interruptible)
    probe = plan(request(DEAR_THEN_CHEAP, loads=(the_load,)))
    (discomfort,) = probe.discomfort
    assert discomfort.price is not None
    # The best alternative to now is one slot later at 30 c/kWh, plus 15 min of discomfort
    # (2 c) spread over the slot's 0.5 kWh: 30 + 4 = 34 c/kWh.
    assert discomfort.price == pytest.approx(34, abs=0.1)
    for now_price, runs_now in [(discomfort.price - 1, True), (discomfort.price + 1, False)]:
        prices = hourly(DEAR_THEN_CHEAP)
        prices[0] = now_price
        tariffs = request(DEAR_THEN_CHEAP).tariffs.__class__(
            retail=[100.0] * 32, feed_in=[5.0] * 32
        )
        result = plan(
            request(DEAR_THEN_CHEAP, loads=(the_load,), price_forecast=prices, tariffs=tariffs)
        )
        assert (result.schedule.loads_w["dishwasher"][0] > 0) is runs_now


def test_discomfort_price_rises_with_discomfort_per_hour() -> None:
    prices = []
    for per_hour in (0, 2, 5, 20):
        result = plan(request(DEAR_THEN_CHEAP, loads=(load(discomfort_per_hour=per_hour),)))
        price = result.discomfort[0].price
        assert price is not None
        prices.append(price)
    assert prices == sorted(prices)
    assert prices[0] < prices[-1]


def test_load_not_yet_available_has_no_discomfort_price_and_waits_for_its_window() -> None:
    result = plan(request(DEAR_THEN_CHEAP, loads=(load(earliest_start=at(2)),)))
    assert result.discomfort[0].price is None
    assert start_hour(result) >= 2


def test_optional_load_is_skipped_when_worth_less_than_it_costs() -> None:
    cheap_value = load(id="pool", optional=True, skip_cost=10)  # 2 kWh cost >= 20 c
    dear_value = load(id="sauna", optional=True, skip_cost=100)
    result = plan(request(DEAR_THEN_CHEAP, loads=(cheap_value, dear_value)))
    outcomes = {o.load_id: o for o in result.loads}
    assert outcomes["pool"].skipped
    assert not outcomes["sauna"].skipped
    assert any(line.startswith("skipping pool") for line in result.explanations)


def test_interruptible_load_completes_its_energy_inside_its_window() -> None:
    the_load = load(interruptible=True, energy_wh=3_000, duration_min=None, latest_finish=at(6))
    result = plan(request(DEAR_THEN_CHEAP, loads=(the_load,)))
    power = result.schedule.loads_w["dishwasher"]
    assert sum(power) * 0.25 == pytest.approx(3_000, abs=1)
    assert sum(power[24:]) == 0  # nothing after the 6 h latest finish
