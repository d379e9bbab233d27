"""The clearing price lies in the competitive equilibrium (docs/market.md#rules, rule 4).

Checked against an independent welfare LP and its dual (tests/hub/market/lp_reference.py, scipy's
HiGHS): the cleared volumes reach the LP's welfare, [price_low, price_high] is exactly the interval
of prices the LP's dual allows, and the price sits k % of the way into it. Network-constrained
clearing follows the same rule: on a feeder where no limit binds its LP prices like the uniform
market.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.market import (
    ClearingResult,
    MarketRules,
    NetworkOptions,
    Order,
    Step,
    clear_network,
    clear_uniform_price,
)
from tests.hub.grid.helpers import chain_feeder
from tests.hub.market.lp_reference import lp_equilibrium
from tests.hub.market.strategies import HOUSEHOLD_ENERGY, markets


def buyer(home_id: str, price: int, energy_wh: int) -> Order:
    return Order(home_id, (Step(price, energy_wh),), ())


def seller(home_id: str, price: int, energy_wh: int) -> Order:
    return Order(home_id, (), (Step(price, energy_wh),))


def assert_priced_like_the_lp(orders: list[Order], rules: MarketRules) -> ClearingResult:
    result = clear_uniform_price(orders, rules)
    lp = lp_equilibrium(orders, rules)

    assert result.welfare_mminor == pytest.approx(lp.welfare, abs=1e-6 * max(1.0, lp.welfare))
    if result.volume_wh == 0:
        assert result.price is None
        return result
    assert (result.price_low, result.price_high) == (lp.price_low, lp.price_high)
    assert result.price_low is not None and result.price_high is not None
    gap = result.price_high - result.price_low
    assert result.price == result.price_low + rules.k_percent * gap // 100
    return result


# --- fixed cases ----------------------------------------------------------------------------------


def test_the_counter_example_of_issue_16_is_priced_inside_the_lp_interval() -> None:
    orders = [buyer("b", 23, 1000), seller("s9", 9, 1000), seller("s10", 10, 1000)]
    rules = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=0, k_percent=50)

    result = assert_priced_like_the_lp(orders, rules)

    assert (result.price_low, result.price_high, result.price) == (9, 10, 9)
    assert result.volume_wh == 1000


def test_the_worked_example_is_priced_inside_the_lp_interval() -> None:
    orders = [
        buyer("a", 35, 2000),
        buyer("b", 24, 1000),
        buyer("e", 24, 2000),
        seller("c", 6, 1500),
        seller("d", 20, 1000),
    ]
    rules = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1, k_percent=50)

    result = assert_priced_like_the_lp(orders, rules)

    assert (result.price_low, result.price_high, result.price) == (23, 23, 23)


@pytest.mark.parametrize(
    ("orders", "interval"),
    [
        # Rationed buyers worth retail: the local price is retail - fee.
        ([buyer("a", 40, 3000), seller("s", 10, 1000)], (29, 29)),
        # Rationed sellers worth feed-in: the local price is feed-in + fee.
        ([buyer("a", 20, 1000), seller("s", 2, 3000)], (9, 9)),
        # Both sides trade in full, nobody is left out: the grid's prices bound the interval.
        ([buyer("a", 40, 1000), seller("s", 2, 1000)], (9, 29)),
    ],
)
def test_the_grid_bounds_the_interval_net_of_the_fee(
    orders: list[Order], interval: tuple[int, int]
) -> None:
    rules = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1, k_percent=50)

    result = assert_priced_like_the_lp(orders, rules)

    assert (result.price_low, result.price_high) == interval


# --- random markets -------------------------------------------------------------------------------


def household_markets() -> st.SearchStrategy[tuple[list[Order], MarketRules]]:
    return markets(max_homes=9, energy=HOUSEHOLD_ENERGY)


@settings(max_examples=500, deadline=None)
@given(household_markets())
def test_the_price_interval_is_the_lp_dual_interval(
    market: tuple[list[Order], MarketRules],
) -> None:
    orders, rules = market
    assert_priced_like_the_lp(orders, rules)


@settings(max_examples=150, deadline=None)
@given(household_markets(), st.lists(st.integers(0, 4), min_size=9, max_size=9))
def test_the_feeder_lp_prices_like_the_uniform_market_when_no_limit_binds(
    market: tuple[list[Order], MarketRules], buses: list[int]
) -> None:
    orders, rules = market
    placed = {order.home_id: bus for order, bus in zip(orders, buses[: len(orders)], strict=True)}
    feeder = chain_feeder(5, limit_kva=1000, homes=placed)
    forced = NetworkOptions(always_lp=True)

    network = clear_network(orders, rules, feeder, interval_seconds=900, options=forced).clearing

    uniform = clear_uniform_price(orders, rules)
    # The LP may leave out trades that gain nothing (a bid equal to an ask): only then do the
    # volumes, and so the prices, differ.
    if network.volume_wh == uniform.volume_wh:
        assert (network.price, network.price_low, network.price_high) == (
            uniform.price,
            uniform.price_low,
            uniform.price_high,
        )
    else:
        assert network.welfare_mminor == uniform.welfare_mminor
