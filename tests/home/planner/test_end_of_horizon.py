"""The owner's end-of-horizon rule: a final battery target, or the value of the energy left."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from gridcoop_home.planner import (
    EndOfHorizon,
    PlannerInputError,
    PlanRequest,
    Profile,
    Strategy,
    Tariffs,
    plan,
)
from gridcoop_home.planner.inputs import SLOT_HOURS
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.home.planner.factory import battery, request

# Cheap at first, dear later: without a rule the battery sells everything before the end.
CHEAP_THEN_DEAR = [10, 10, 40, 40, 40, 40]


def per_slot(prices: list[float], **changes: Any) -> PlanRequest:
    """A request with one price per 15-minute slot, between retail 200 and feed-in -50."""
    slots = len(prices)
    return replace(
        request([0], **changes),
        slots=slots,
        price_forecast=prices,
        pv_forecast_w=[0.0] * slots,
        base_load_forecast_w=[300.0] * slots,
        tariffs=Tariffs(retail=[200.0] * slots, feed_in=[-50.0] * slots),
    )


def final_soc_wh(result_soc: tuple[float, ...]) -> float:
    return result_soc[-1]


def test_by_default_leftover_energy_keeps_its_mean_price_and_the_battery_ends_low() -> None:
    result = plan(request(CHEAP_THEN_DEAR, battery=battery(soc_wh=5_000), market_outputs=False))
    # Stored energy is worth mean(buy) x 0.95 = 28.5 < 40: it is worth more sold late.
    assert final_soc_wh(result.schedule.battery_soc_wh) == pytest.approx(1_000, abs=1)
    assert result.violations == ()


def test_a_final_target_is_met_when_it_can_be() -> None:
    # With market outputs: the what-if solves that price the bids keep the target soft too.
    rule = EndOfHorizon(soc_target=0.5)
    result = plan(request(CHEAP_THEN_DEAR, battery=battery(soc_wh=5_000), end_of_horizon=rule))
    assert final_soc_wh(result.schedule.battery_soc_wh) >= 5_000 - 1
    assert result.violations == ()


def test_an_unreachable_target_is_approached_at_full_power_and_reported() -> None:
    # 1 kW for 2 h at 95 %: 1,000 + 1,900 Wh = 29 % of 10 kWh, 80 % was asked.
    result = plan(
        request(
            [30, 30],
            battery=battery(max_charge_w=1_000),
            end_of_horizon=EndOfHorizon(soc_target=0.8),
        )
    )
    assert final_soc_wh(result.schedule.battery_soc_wh) == pytest.approx(2_900, abs=1)
    (violation,) = result.violations
    assert violation.limit == "battery_end_target"
    assert violation.amount_wh == pytest.approx(8_000 - 2_900, abs=1)
    assert (
        violation.reason
        == "the battery cannot reach 80 % by 02:00: 29 % reachable at its charging power"
    )


def test_the_value_of_stored_energy_is_the_owners() -> None:
    flat = [20] * 4
    worthless = plan(
        request(
            flat,
            battery=battery(soc_wh=5_000),
            end_of_horizon=EndOfHorizon(stored_value=0),
            market_outputs=False,
        )
    )
    precious = plan(
        request(
            flat,
            battery=battery(soc_wh=5_000),
            end_of_horizon=EndOfHorizon(stored_value=60),
            market_outputs=False,
        )
    )
    # Worth nothing: it covers the base load and is sold down to the reserve.
    assert final_soc_wh(worthless.schedule.battery_soc_wh) == pytest.approx(1_000, abs=1)
    # Worth 60 per kWh against 20 to buy: the battery fills up.
    assert final_soc_wh(precious.schedule.battery_soc_wh) == pytest.approx(10_000, abs=1)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (EndOfHorizon(soc_target=1.2), "end_of_horizon.soc_target"),
        (EndOfHorizon(soc_target=-0.1), "end_of_horizon.soc_target"),
        (EndOfHorizon(soc_target=math.nan), "end_of_horizon.soc_target"),
        (EndOfHorizon(stored_value=-1), "end_of_horizon.stored_value"),
        (EndOfHorizon(stored_value=math.inf), "end_of_horizon.stored_value"),
    ],
)
def test_a_bad_rule_is_rejected_naming_the_field(rule: EndOfHorizon, field: str) -> None:
    with pytest.raises(PlannerInputError) as raised:
        plan(request([20] * 2, battery=battery(), end_of_horizon=rule))
    assert raised.value.field == field


def test_a_rule_without_a_battery_changes_nothing() -> None:
    result = plan(request([20] * 2, end_of_horizon=EndOfHorizon(soc_target=0.9)))
    assert result.violations == ()


@settings(max_examples=40, deadline=None)
@given(
    slots=st.integers(1, 12),
    prices=st.lists(st.floats(-20, 120), min_size=12, max_size=12),
    capacity=st.floats(2_000, 20_000),
    soc=st.floats(0, 1),
    charge_w=st.floats(0, 6_000),
    target=st.floats(0, 1),
    profile=st.sampled_from(list(Profile)),
)
def test_the_target_is_met_whenever_reachable_and_never_makes_the_plan_infeasible(
    slots: int,
    prices: list[float],
    capacity: float,
    soc: float,
    charge_w: float,
    target: float,
    profile: Profile,
) -> None:
    b = battery(capacity_wh=capacity, soc_wh=soc * capacity, reserve_wh=0, max_charge_w=charge_w)
    req = per_slot(
        prices[:slots],
        battery=b,
        end_of_horizon=EndOfHorizon(soc_target=target),
        strategy=Strategy(profile=profile, monthly_budget=10),
        market_outputs=False,
    )
    result = plan(req)  # never raises: the target is soft
    end_wh = result.schedule.battery_soc_wh[-1]
    reachable = min(soc * capacity + charge_w * 0.95 * SLOT_HOURS * slots, capacity)
    wanted = target * capacity
    if reachable >= wanted + 1:
        assert end_wh >= wanted - 1
        assert all(v.limit != "battery_end_target" for v in result.violations)
    elif reachable < wanted - 1:
        assert end_wh == pytest.approx(reachable, abs=1)
        assert [v.limit for v in result.violations] == ["battery_end_target"]


def test_charge_the_target_needs_now_is_bid_at_retail() -> None:
    # 1,000 Wh stored, 3,800 Wh asked in 1 h on 3 kW x 95 %: three later slots add 2,137.5 Wh,
    # so 662.5 Wh stored (697 Wh at the meter) must come now, whatever the price.
    rule = EndOfHorizon(soc_target=0.38)
    result = plan(request([30], battery=battery(reserve_wh=0), end_of_horizon=rule))
    assert result.bids is not None
    steps = [(s.price, s.energy_wh) for s in result.bids.buy if s.asset == "battery"]
    # The must at retail, the rest of the 3 kW at what stored energy is worth (30 x 0.95).
    assert steps == [(40, 697), (29, 53)]
