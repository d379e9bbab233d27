"""Specification of uniform-price clearing (docs/market.md).

Units: prices minor/kWh, energy Wh, money milli-minor (price x Wh). Unless a test says otherwise the
grid sells at R = 30 and buys at F = 8, there is no fee and k = 50 (midpoint price).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.market import (
    ClearingResult,
    HomeAllocation,
    MarketRules,
    Order,
    Step,
    StepFill,
    clear_uniform_price,
)
from tests.hub.market.reference import reference_clear
from tests.hub.market.strategies import markets

RULES = MarketRules(retail_price=30, feed_in_price=8)


def buyer(home_id: str, *steps: tuple[int, int], priority: int = 0) -> Order:
    return Order(home_id, tuple(Step(p, e) for p, e in steps), (), priority)


def seller(home_id: str, *steps: tuple[int, int], priority: int = 0) -> Order:
    return Order(home_id, (), tuple(Step(p, e) for p, e in steps), priority)


def home(result: ClearingResult, home_id: str) -> HomeAllocation:
    return next(a for a in result.allocations if a.home_id == home_id)


# --- canonical markets with hand-computed numbers -------------------------------------------------

INTERIOR = [
    buyer("a", (28, 600), (18, 400)),
    buyer("b", (24, 500)),
    seller("c", (12, 700)),
    seller("d", (20, 400)),
    seller("e", (26, 300)),
]


def test_interior_market_clears_at_midpoint_of_price_interval() -> None:
    # D(p) = 1500 up to 18, 1100 up to 24, 600 up to 28; S(p) = 700 from 12, 1100 from 20, 1400
    # from 26. Q* = 1100 and both sides trade exactly that: a's 600 and b's 500 against c's 700 and
    # d's 400. Any price in [20, 24] supports it: at most the lowest traded bid (b, 24) and the
    # lowest ask left out (e, 26); at least the highest traded ask (d, 20) and the highest bid left
    # out (a's 18). Price = (20 + 24) / 2 = 22.
    result = clear_uniform_price(INTERIOR, RULES)

    assert (result.price, result.price_low, result.price_high) == (22, 20, 24)
    assert result.volume_wh == 1100
    # a's second step (18) is below the price: not traded. e's ask (26) is above it: not traded.
    assert home(result, "a") == HomeAllocation(
        "a", 600, 0, 0, 0, (StepFill(600, 0), StepFill(0, 0)), (), 22 * 600, 0, 0
    )
    assert home(result, "b").paid_mminor == 22 * 500
    assert home(result, "c").received_mminor == 22 * 700
    assert home(result, "d").sell_fills == (StepFill(400, 0),)
    assert home(result, "d").received_mminor == 22 * 400
    assert home(result, "e").sell_fills == (StepFill(0, 0),)
    assert result.welfare_mminor == 28 * 600 + 24 * 500 - 12 * 700 - 20 * 400  # 12,400
    assert (result.fees_mminor, result.grid_import_wh, result.grid_export_wh) == (0, 0, 0)


def test_a_rationed_seller_pins_the_price_at_its_ask() -> None:
    # As above but d offers 800 Wh and sells only 400 of them: at any price above 20 d would want
    # to sell more, so the equilibrium price is 20 whatever k says.
    orders = [*INTERIOR[:3], seller("d", (20, 800))]

    for k_percent in (0, 50, 100):
        result = clear_uniform_price(orders, MarketRules(30, 8, k_percent=k_percent))

        assert (result.price, result.price_low, result.price_high) == (20, 20, 20)
        assert result.volume_wh == 1100
        assert home(result, "d").sell_fills == (StepFill(400, 0),)
        assert home(result, "d").received_mminor == 20 * 400


def test_the_best_ask_left_out_caps_the_price() -> None:
    # The counter-example of issue 16: one buyer of 1000 Wh at 23, sellers of 1000 Wh at 9 and at
    # 10, k = 50. The 9 sells; the 10 is left out, so above 10 it would undercut the market. The
    # equilibrium interval is [9, 10] (the old rule, from the traded steps alone, said [9, 23] and
    # priced at 16).
    orders = [buyer("b", (23, 1000)), seller("s9", (9, 1000)), seller("s10", (10, 1000))]

    result = clear_uniform_price(orders, MarketRules(30, 8, fee_per_kwh=0, k_percent=50))

    assert (result.price_low, result.price_high, result.price) == (9, 10, 9)  # 9 + 50 % of 1
    assert result.volume_wh == 1000
    assert home(result, "s9").sold_local_wh == 1000
    assert home(result, "s10").sold_local_wh == 0
    assert home(result, "b").paid_mminor == 9 * 1000


def test_the_best_bid_left_out_lifts_the_price() -> None:
    # The mirror image: one seller of 1000 Wh at 12, buyers at 25 and 24. The 25 buys; the 24 is
    # left out, so below 24 it would outbid the market: [24, 25], k = 50 gives 24.
    orders = [seller("s", (12, 1000)), buyer("b25", (25, 1000)), buyer("b24", (24, 1000))]

    result = clear_uniform_price(orders, RULES)

    assert (result.price_low, result.price_high, result.price) == (24, 25, 24)
    assert home(result, "b25").bought_local_wh == 1000
    assert home(result, "b24").bought_local_wh == 0


@pytest.mark.parametrize(("k_percent", "price"), [(0, 20), (25, 21), (50, 22), (100, 24)])
def test_k_places_the_price_inside_the_interval_rounding_down(k_percent: int, price: int) -> None:
    result = clear_uniform_price(INTERIOR, MarketRules(30, 8, k_percent=k_percent))

    assert result.price == price  # 20 + k% of 4, floored: 25% of 4 = 1
    assert home(result, "b").paid_mminor == price * 500
    assert result.volume_wh == 1100  # k moves money, never quantities


def test_short_local_supply_rations_buyers_pro_rata_and_the_grid_supplies_the_rest() -> None:
    # Both buyers bid at or above retail, so both are worth R = 30 locally and share the 2000 Wh
    # in proportion 3000 : 1000; their unmet demand comes from the grid at R. They would take more
    # at any price below 30, so the local price is R: the seller gets what the grid would charge.
    orders = [buyer("a", (35, 3000)), buyer("b", (30, 1000)), seller("s", (10, 2000))]

    result = clear_uniform_price(orders, RULES)

    assert (result.price_low, result.price_high, result.price) == (30, 30, 30)
    assert home(result, "a").buy_fills == (StepFill(1500, 1500),)
    assert home(result, "b").buy_fills == (StepFill(500, 500),)
    assert home(result, "a").paid_mminor == 30 * 1500 + 30 * 1500
    assert home(result, "b").paid_mminor == 30 * 500 + 30 * 500
    assert home(result, "s").received_mminor == 30 * 2000
    assert (result.grid_import_wh, result.grid_export_wh) == (2000, 0)
    assert result.welfare_mminor == (30 - 10) * 2000


def test_long_local_supply_rations_sellers_and_the_grid_takes_the_rest_at_feed_in() -> None:
    # Sellers at or below feed-in are worth F = 8 locally: one level of 2000 Wh for 1000 Wh demand.
    # They would sell more at any price above 8, so the local price is F.
    orders = [buyer("a", (25, 1000)), seller("b", (5, 1500)), seller("c", (8, 500))]

    result = clear_uniform_price(orders, RULES)

    assert (result.price_low, result.price_high, result.price) == (8, 8, 8)
    assert home(result, "b").sell_fills == (StepFill(750, 750),)
    assert home(result, "c").sell_fills == (StepFill(250, 250),)
    assert home(result, "b").received_mminor == 8 * 750 + 8 * 750
    assert home(result, "c").received_mminor == 8 * 250 + 8 * 250
    assert home(result, "a").paid_mminor == 8 * 1000
    assert (result.grid_import_wh, result.grid_export_wh) == (0, 1000)


def test_unfilled_energy_of_steps_inside_the_grid_prices_is_not_traded() -> None:
    # A buyer below retail and a seller above feed-in would rather not trade than use the grid.
    orders = [buyer("a", (25, 1000)), seller("b", (20, 400))]

    result = clear_uniform_price(orders, RULES)

    assert home(result, "a").buy_fills == (StepFill(400, 0),)
    assert result.grid_import_wh == 0


def test_fee_removes_the_marginal_trade_whose_surplus_does_not_cover_both_fees() -> None:
    # b values 20 and d asks 17: a surplus of 3 < 2 x fee, so only a-c trades once the fee is 2.
    orders = [
        buyer("a", (25, 1000)),
        buyer("b", (20, 1000)),
        seller("c", (10, 1000)),
        seller("d", (17, 1000)),
    ]
    assert clear_uniform_price(orders, RULES).volume_wh == 2000

    result = clear_uniform_price(orders, MarketRules(30, 8, fee_per_kwh=2))

    # Effective prices: buys 23, 18; sells 12, 19. a and c trade; b (18) and d (19) are left out
    # and bound the price: interval [18, 19], price 18 + 1 // 2 = 18.
    assert (result.volume_wh, result.price_low, result.price_high, result.price) == (
        1000,
        18,
        19,
        18,
    )
    assert home(result, "a") == HomeAllocation(
        "a", 1000, 0, 0, 0, (StepFill(1000, 0),), (), (18 + 2) * 1000, 0, 2 * 1000
    )
    assert home(result, "c").received_mminor == (18 - 2) * 1000
    assert home(result, "c").fees_mminor == 2 * 1000
    assert home(result, "b").bought_local_wh == home(result, "d").sold_local_wh == 0
    assert result.fees_mminor == 4000
    assert result.welfare_mminor == (23 - 12) * 1000


def test_priority_tier_is_served_first_but_only_at_the_marginal_level() -> None:
    # All three buyers are worth 30; 1000 Wh available. Priority 1 takes its 600 whole, the
    # priority-0 tier shares the remaining 400 pro-rata. "d" has top priority but bids below the
    # interval, and priority never lifts a step over a better price.
    orders = [
        buyer("a", (30, 600), priority=1),
        buyer("b", (30, 1000)),
        buyer("c", (31, 1000)),
        buyer("d", (15, 500), priority=5),
        seller("s", (10, 1000)),
    ]

    result = clear_uniform_price(orders, RULES)

    assert result.price == 30  # rationed buyers worth R want more at any lower price
    assert home(result, "a").buy_fills == (StepFill(600, 0),)
    assert home(result, "b").buy_fills == (StepFill(200, 800),)
    assert home(result, "c").buy_fills == (StepFill(200, 800),)
    assert home(result, "d").buy_fills == (StepFill(0, 0),)
    assert home(result, "b").paid_mminor == 30 * 200 + 30 * 800


@pytest.mark.parametrize(
    ("supply_wh", "fills"),
    [
        # 1000 Wh over three 1000 Wh steps: 333 each and 1 Wh left over, equal remainders:
        # lowest home_id first, then the earlier step of that home.
        (1000, {("a", 0): 334, ("a", 1): 333, ("b", 0): 333}),
        (1001, {("a", 0): 334, ("a", 1): 334, ("b", 0): 333}),
    ],
)
def test_leftover_wh_go_to_lowest_home_id_then_earliest_step(
    supply_wh: int, fills: dict[tuple[str, int], int]
) -> None:
    # "b" is listed first: input order must not matter. a's two steps both cap to R = 30.
    orders = [
        buyer("b", (31, 1000)),
        buyer("a", (40, 1000), (35, 1000)),
        seller("s", (9, supply_wh)),
    ]

    result = clear_uniform_price(orders, RULES)

    got = {
        (alloc.home_id, i): fill.local_wh
        for alloc in result.allocations
        for i, fill in enumerate(alloc.buy_fills)
    }
    assert got == fills


def test_leftover_wh_go_to_the_largest_remainder_before_home_id() -> None:
    # 1001 Wh over 1000 + 500 + 500: quotas 500.5, 250.25, 250.25 -> the single leftover Wh goes
    # to "b" (remainder .5) although "a" sorts first.
    orders = [buyer("a", (40, 500), (35, 500)), buyer("b", (31, 1000)), seller("s", (9, 1001))]

    result = clear_uniform_price(orders, RULES)

    assert home(result, "a").buy_fills == (StepFill(250, 250), StepFill(250, 250))
    assert home(result, "b").buy_fills == (StepFill(501, 499),)


def test_no_local_trade_when_fees_exceed_the_grid_spread_everything_uses_the_grid() -> None:
    # With fee 12 a local trade costs a buyer at least F + 2 x fee = 32 > R: the grid is cheaper.
    orders = [
        buyer("a", (35, 1000)),
        buyer("b", (12, 500)),
        seller("c", (32, 800)),
        seller("d", (6, 300)),
    ]

    result = clear_uniform_price(orders, MarketRules(30, 8, fee_per_kwh=12))

    assert (result.price, result.price_low, result.price_high) == (None, None, None)
    assert (result.volume_wh, result.welfare_mminor, result.fees_mminor) == (0, 0, 0)
    assert (result.grid_import_wh, result.grid_export_wh) == (1000, 300)
    assert home(result, "a") == HomeAllocation(
        "a", 0, 0, 1000, 0, (StepFill(0, 1000),), (), 30 * 1000, 0, 0
    )
    assert home(result, "d") == HomeAllocation(
        "d", 0, 0, 0, 300, (), (StepFill(0, 300),), 0, 8 * 300, 0
    )
    assert home(result, "b").buy_fills == (StepFill(0, 0),)
    assert home(result, "c").sell_fills == (StepFill(0, 0),)


def test_worked_example_in_docs_market_md() -> None:
    rules = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1, k_percent=50)
    orders = [
        buyer("a", (35, 2000)),
        buyer("b", (24, 1000)),
        buyer("e", (24, 2000)),
        seller("c", (6, 1500)),
        seller("d", (20, 1000)),
    ]

    result = clear_uniform_price(orders, rules)

    # b and e (level 23) are rationed: they want more at any price below 23, so the equilibrium
    # price is 23 (the old rule, from the traded steps alone, said [21, 23] and 22).
    assert (result.price_low, result.price_high, result.price, result.volume_wh) == (
        23,
        23,
        23,
        2500,
    )
    assert [(a.home_id, a.bought_local_wh, a.sold_local_wh) for a in result.allocations] == [
        ("a", 2000, 0),
        ("b", 167, 0),
        ("c", 0, 1500),
        ("d", 0, 1000),
        ("e", 333, 0),
    ]
    assert [a.paid_mminor for a in result.allocations] == [48_000, 4_008, 0, 0, 7_992]
    assert [a.received_mminor for a in result.allocations] == [0, 0, 33_000, 22_000, 0]
    assert (result.fees_mminor, result.welfare_mminor) == (5_000, 35_000)
    assert (result.grid_import_wh, result.grid_export_wh) == (0, 0)


def test_empty_and_one_sided_markets_do_not_trade() -> None:
    assert clear_uniform_price([], RULES) == ClearingResult(None, None, None, 0, 0, 0, 0, 0, ())
    one_sided = clear_uniform_price([buyer("a", (30, 100)), buyer("b", (20, 100))], RULES)
    assert one_sided.price is None
    assert one_sided.grid_import_wh == 100


def test_allocations_are_sorted_by_home_id_with_one_per_order() -> None:
    orders = [seller("zz", (10, 1)), Order("m", (), ()), buyer("a", (20, 1))]

    result = clear_uniform_price(orders, RULES)

    assert [a.home_id for a in result.allocations] == ["a", "m", "zz"]
    assert home(result, "m") == HomeAllocation("m", 0, 0, 0, 0, (), (), 0, 0, 0)


def test_money_stays_exact_when_products_exceed_int64() -> None:
    # 10 x 1 GWh demand against 12 x 1 GWh supply: the pro-rata product 10^10 x 10^9 = 10^19 does
    # not fit in int64. Each seller's quota is 10^10 / 12 Wh = 833,333,333.33; the 4 leftover Wh go
    # to the 4 lowest home ids.
    gwh = 10**9
    orders = [buyer(f"b{i:02}", (40, gwh)) for i in range(10)]
    orders += [seller(f"s{i:02}", (5, gwh)) for i in range(12)]

    result = clear_uniform_price(orders, RULES)

    sold = [home(result, f"s{i:02}").sold_local_wh for i in range(12)]
    assert sold == [833_333_334] * 4 + [833_333_333] * 8
    assert result.volume_wh == 10 * gwh
    assert result.welfare_mminor == (30 - 8) * 10 * gwh
    # The rationed sellers (worth F = 8) want to sell more at any higher price: the price is 8.
    assert result.price == 8
    assert home(result, "s00").received_mminor == 8 * 833_333_334 + 8 * (gwh - 833_333_334)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: buyer("h1", (20, 0)), r"home 'h1': buy\[0\]\.energy_wh must be > 0"),
        (lambda: seller("h2", (20, 10), (25, -5)), r"home 'h2': sell\[1\]\.energy_wh must be > 0"),
        (
            lambda: buyer("h3", (20, 10), (21, 10)),
            r"home 'h3': buy\[1\]\.price 21 .*non-increasing",
        ),
        (lambda: seller("h4", (20, 10), (19, 10)), r"home 'h4': sell\[1\]\.price 19 .*non-decreas"),
        (
            lambda: Order("h5", (Step(20, 10),), (Step(20, 10),)),
            r"home 'h5': curves cross: highest buy price 20 >= lowest sell price 20",
        ),
        (lambda: buyer("h6", (20.5, 10)), r"home 'h6': buy\[0\]\.price must be an int"),  # type: ignore[arg-type]
        (lambda: buyer("h7", (20, True)), r"home 'h7': buy\[0\]\.energy_wh must be an int"),
        (lambda: buyer("h8", (20, 10**9 + 1)), r"home 'h8': buy\[0\]\.energy_wh must be within"),
        (lambda: Order("h9", [Step(1, 1)], ()), r"home 'h9': buy must be a tuple"),  # type: ignore[arg-type]
        (lambda: Order("", (), ()), r"home_id must be a non-empty string"),
        (lambda: MarketRules(8, 30), r"rules: feed_in_price 30 must not exceed retail_price 8"),
        (lambda: MarketRules(30, 8, fee_per_kwh=-1), r"rules: fee_per_kwh must be >= 0"),
        (lambda: MarketRules(30, 8, k_percent=101), r"rules: k_percent must be within 0\.\.100"),
        (lambda: MarketRules(30, 8, k_percent=-1), r"rules: k_percent must be within 0\.\.100"),
        (
            lambda: clear_uniform_price([buyer("h1", (20, 1)), seller("h1", (25, 1))], RULES),
            r"home 'h1': duplicate home_id",
        ),
    ],
)
def test_invalid_input_is_rejected_naming_home_and_field(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_a_home_may_buy_and_sell_when_its_curves_do_not_cross() -> None:
    battery = Order("bat", (Step(12, 500), Step(10, 500)), (Step(25, 500), Step(28, 500)))

    result = clear_uniform_price([battery, buyer("a", (27, 400))], RULES)

    assert home(result, "bat").sell_fills == (StepFill(400, 0), StepFill(0, 0))
    assert result.price == 25  # the battery would sell more of its 25-step at any higher price


# --- properties over random small markets --------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(markets())
def test_matches_the_brute_force_reference(market: tuple[list[Order], MarketRules]) -> None:
    orders, rules = market
    assert clear_uniform_price(orders, rules) == reference_clear(orders, rules)


@st.composite
def crowded_markets(draw: st.DrawFn) -> tuple[list[Order], MarketRules]:
    """Few distinct prices, tiny energies: many steps share the marginal level, ties abound."""
    small = st.integers(1, 4)
    buyers = draw(st.lists(st.lists(st.sampled_from([31, 30, 29]), max_size=3), max_size=5))
    sellers = draw(st.lists(st.lists(st.sampled_from([7, 8, 9]), max_size=3), max_size=5))
    orders = [
        Order(
            f"b{i}", tuple(Step(p, draw(small)) for p in sorted(ps, reverse=True)), (), draw(small)
        )
        for i, ps in enumerate(buyers)
    ]
    orders += [
        Order(f"s{i}", (), tuple(Step(p, draw(small)) for p in sorted(ps)), draw(small))
        for i, ps in enumerate(sellers)
    ]
    return orders, RULES


@settings(max_examples=400, deadline=None)
@given(crowded_markets())
def test_rationing_on_crowded_levels_matches_the_reference(
    market: tuple[list[Order], MarketRules],
) -> None:
    orders, rules = market
    assert clear_uniform_price(orders, rules) == reference_clear(orders, rules)


@settings(max_examples=300, deadline=None)
@given(markets())
def test_local_money_balances_exactly(market: tuple[list[Order], MarketRules]) -> None:
    orders, rules = market
    result = clear_uniform_price(orders, rules)

    local_paid = sum(
        a.paid_mminor - rules.retail_price * a.bought_grid_wh for a in result.allocations
    )
    local_received = sum(
        a.received_mminor - rules.feed_in_price * a.sold_grid_wh for a in result.allocations
    )
    assert local_paid == local_received + result.fees_mminor
    assert result.fees_mminor == sum(a.fees_mminor for a in result.allocations)
    assert result.fees_mminor == 2 * rules.fee_per_kwh * result.volume_wh


@settings(max_examples=300, deadline=None)
@given(markets())
def test_every_trade_is_individually_rational(market: tuple[list[Order], MarketRules]) -> None:
    orders, rules = market
    result = clear_uniform_price(orders, rules)
    fee = rules.fee_per_kwh

    for order in orders:
        alloc = home(result, order.home_id)
        for step, fill in zip(order.buy, alloc.buy_fills, strict=True):
            if fill.local_wh:
                assert result.price is not None and result.price + fee <= step.price
            if fill.grid_wh:
                assert rules.retail_price <= step.price
        for step, fill in zip(order.sell, alloc.sell_fills, strict=True):
            if fill.local_wh:
                assert result.price is not None and result.price - fee >= step.price
            if fill.grid_wh:
                assert rules.feed_in_price >= step.price


@settings(max_examples=300, deadline=None)
@given(markets())
def test_quantities_are_consistent(market: tuple[list[Order], MarketRules]) -> None:
    orders, rules = market
    result = clear_uniform_price(orders, rules)

    assert [a.home_id for a in result.allocations] == sorted(o.home_id for o in orders)
    for order in orders:
        alloc = home(result, order.home_id)
        for step, fill in zip(
            order.buy + order.sell, alloc.buy_fills + alloc.sell_fills, strict=True
        ):
            assert fill.local_wh >= 0 and fill.grid_wh >= 0
            assert fill.local_wh + fill.grid_wh <= step.energy_wh
        assert alloc.bought_local_wh == sum(f.local_wh for f in alloc.buy_fills)
        assert alloc.sold_grid_wh == sum(f.grid_wh for f in alloc.sell_fills)
    assert sum(a.bought_local_wh for a in result.allocations) == result.volume_wh
    assert sum(a.sold_local_wh for a in result.allocations) == result.volume_wh
    assert sum(a.bought_grid_wh for a in result.allocations) == result.grid_import_wh
    assert sum(a.sold_grid_wh for a in result.allocations) == result.grid_export_wh


@settings(max_examples=300, deadline=None)
@given(markets())
def test_price_lies_between_the_grid_prices_net_of_fees(
    market: tuple[list[Order], MarketRules],
) -> None:
    orders, rules = market
    result = clear_uniform_price(orders, rules)

    if result.volume_wh == 0:
        assert result.price is None
    else:
        assert result.price_low is not None and result.price_high is not None
        assert result.price is not None
        fee = rules.fee_per_kwh
        assert rules.feed_in_price + fee <= result.price_low <= result.price
        assert result.price <= result.price_high <= rules.retail_price - fee


@settings(max_examples=200, deadline=None)
@given(markets(), st.randoms(use_true_random=False))
def test_order_of_orders_does_not_matter(
    market: tuple[list[Order], MarketRules], rng: random.Random
) -> None:
    orders, rules = market
    shuffled = list(orders)
    rng.shuffle(shuffled)

    assert clear_uniform_price(shuffled, rules) == clear_uniform_price(orders, rules)


@settings(max_examples=200, deadline=None)
@given(markets())
def test_volume_is_the_efficient_quantity(market: tuple[list[Order], MarketRules]) -> None:
    # No price could have matched more effective demand with effective supply.
    orders, rules = market
    result = clear_uniform_price(orders, rules)
    fee = rules.fee_per_kwh
    bids = [(min(s.price, rules.retail_price) - fee, s.energy_wh) for o in orders for s in o.buy]
    asks = [(max(s.price, rules.feed_in_price) + fee, s.energy_wh) for o in orders for s in o.sell]

    for p in range(-10, 60):
        demand = sum(e for level, e in bids if level >= p)
        supply = sum(e for level, e in asks if level <= p)
        assert min(demand, supply) <= result.volume_wh
    if result.price is not None:
        # At the clearing price both sides can carry the volume.
        assert sum(e for level, e in bids if level >= result.price) >= result.volume_wh
        assert sum(e for level, e in asks if level <= result.price) >= result.volume_wh
    assert result.welfare_mminor >= 0


def test_clearing_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    orders = [Order("a", (Step(20, 100),), ()), Order("b", (), (Step(10, 100),))]
    rules = MarketRules(retail_price=30, feed_in_price=8)
    assert gc.isenabled()
    clear_uniform_price(orders, rules)
    assert gc.isenabled()
    gc.disable()
    try:
        clear_uniform_price(orders, rules)
        assert not gc.isenabled()
    finally:
        gc.enable()
