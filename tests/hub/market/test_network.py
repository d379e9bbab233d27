"""Specification of network-constrained clearing (hub.market.network, docs/feeder.md).

Unless a test says otherwise: the example feeder (examples/feeders/lindenweg.json, 31 buses,
60 homes, 250 kVA), 15-minute intervals, the grid sells at R = 30 and buys at F = 8, a fee of 1
per side and k = 50.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hub.grid import Feeder, sweep, violations
from hub.grid.ac_check import ac_power_flow
from hub.market import (
    MarketRules,
    NetworkClearing,
    NetworkOptions,
    Order,
    Step,
    StepFill,
    clear_network,
    clear_uniform_price,
)
from tests.hub.grid.helpers import chain_feeder, cleared_load_kw, example_feeder

RULES = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1, k_percent=50)
QUARTER = 900
FEEDER = example_feeder()
# The feeder's ratings themselves, without the default safety margins (0.005 p.u., 95 %).
AT_RATINGS = NetworkOptions(voltage_margin_pu=0.0, loading_limit=1.0)

# Checked against pandapower's AC power flow (docs/feeder.md): on the example feeder LinDistFlow
# voltages are within 0.005 p.u. of AC ones (it ignores losses: too high under heavy load, a little
# too high under export too, so the AC voltages stay inside a band LinDistFlow keeps).
AC_VOLTAGE_TOLERANCE_PU = 0.005


def noon(feeder: Feeder = FEEDER) -> list[Order]:
    """PV export at noon: two homes in three sell 8.8 kW (2.2 kWh), one in three buys 4 kW."""
    orders = []
    for i, home in enumerate(sorted(feeder.homes)):
        if i % 3 == 0:
            orders.append(Order(home, (Step(28, 600), Step(20, 400)), ()))
        else:
            orders.append(Order(home, (), (Step(6, 1800), Step(12, 400))))
    return orders


def evening(must_serve: int = 0) -> list[Order]:
    """Evening peak: every home buys; EV charging (8 kWh per quarter hour!) on the Lindenweg run."""
    orders = []
    for home, bus in sorted(FEEDER.homes.items()):
        steps = [Step(200, 400 + must_serve)]  # household load, bid high
        if bus <= 12:
            steps.append(Step(35, 2000))  # a flexible EV, happy to pay retail
        orders.append(Order(home, tuple(steps), ()))
    return orders


def clear(orders: list[Order], options: NetworkOptions | None = None) -> NetworkClearing:
    return clear_network(orders, RULES, FEEDER, interval_seconds=QUARTER, options=options)


def ac_check(feeder: Feeder, result: NetworkClearing) -> tuple[np.ndarray, np.ndarray]:
    """pandapower's AC voltages and current-based loadings for the cleared dispatch."""
    pytest.importorskip("pandapower")
    ac = ac_power_flow(feeder, cleared_load_kw(feeder, result.clearing.allocations, QUARTER))
    return ac.voltage_pu, ac.loading


# --- no limit binds: exactly the uniform market ---------------------------------------------------


@st.composite
def small_markets(draw: st.DrawFn) -> tuple[list[Order], MarketRules, Feeder]:
    feed_in = draw(st.integers(0, 20))
    rules = MarketRules(
        retail_price=draw(st.integers(feed_in, 40)),
        feed_in_price=feed_in,
        fee_per_kwh=draw(st.integers(0, 3)),
        k_percent=draw(st.sampled_from([0, 50, 100])),
    )
    homes = draw(st.lists(st.text("abcdef", min_size=1, max_size=2), max_size=8, unique=True))
    orders, placed = [], {}
    for home in homes:
        split = draw(st.integers(0, 42))
        buy = sorted(draw(st.lists(st.integers(-2, split - 1), max_size=3)), reverse=True)
        sell = sorted(draw(st.lists(st.integers(split, 44), max_size=3)))
        energy = st.integers(1, 3000)
        orders.append(
            Order(
                home,
                tuple(Step(p, draw(energy)) for p in buy),
                tuple(Step(p, draw(energy)) for p in sell),
                draw(st.integers(0, 1)),
            )
        )
        placed[home] = draw(st.integers(0, 4))
    return orders, rules, chain_feeder(5, limit_kva=1000, homes=placed)


@settings(max_examples=150, deadline=None)
@given(small_markets())
def test_when_no_limit_binds_the_result_is_the_uniform_market(
    market: tuple[list[Order], MarketRules, Feeder],
) -> None:
    orders, rules, feeder = market

    result = clear_network(orders, rules, feeder, interval_seconds=QUARTER)

    assert result.method == "merit_order"
    assert result.clearing == clear_uniform_price(orders, rules)
    assert {n.price for n in result.nodal_prices} == {result.clearing.price}
    assert all(n.congestion == 0 and n.reasons == () for n in result.nodal_prices)
    assert (result.binding, result.curtailment, result.congestion_rent_mminor) == ((), (), 0)


@settings(max_examples=60, deadline=None)
@given(small_markets())
def test_the_lp_on_an_unconstrained_feeder_reaches_the_uniform_welfare(
    market: tuple[list[Order], MarketRules, Feeder],
) -> None:
    orders, rules, feeder = market
    forced = NetworkOptions(always_lp=True)

    result = clear_network(orders, rules, feeder, interval_seconds=QUARTER, options=forced)

    uniform = clear_uniform_price(orders, rules)
    # Rounding the LP to whole Wh may cost at most one Wh per (bus, price) group at each price.
    groups = sum(len(o.buy) + len(o.sell) for o in orders)
    slack = groups * 2 * (max(rules.retail_price, 44) + rules.fee_per_kwh + 2)
    assert abs(result.clearing.welfare_mminor - uniform.welfare_mminor) <= slack
    assert result.binding == ()
    assert all(n.congestion == 0 for n in result.nodal_prices)


def test_the_noon_market_fits_a_feeder_with_a_high_enough_voltage_limit() -> None:
    relaxed = replace(FEEDER, v_max_pu=1.10)

    result = clear_network(noon(), RULES, relaxed, interval_seconds=QUARTER)

    assert result.method == "merit_order"
    assert result.clearing == clear_uniform_price(noon(), RULES)


# --- congestion: noon PV export pushes the voltage above 1.05 p.u. --------------------------------


def test_noon_export_beyond_the_voltage_limit_is_curtailed_by_the_lp() -> None:
    merit = clear_uniform_price(noon(), RULES)
    assert merit.grid_export_wh == 52_000  # what the merit order alone would export

    result = clear(noon())

    assert result.method == "lp"
    assert result.flow is not None
    assert result.flow.voltage_pu.max() <= FEEDER.v_max_pu + 1e-6
    curtailed = sum(c.sell_wh for c in result.curtailment)
    assert curtailed > 0
    assert merit.grid_export_wh + merit.volume_wh - curtailed == (
        result.clearing.grid_export_wh + result.clearing.volume_wh
    )
    assert all(c.buy_wh == 0 for c in result.curtailment)  # nobody is asked to buy less


def test_the_binding_voltage_limits_are_named_at_the_ends_of_the_long_runs() -> None:
    result = clear(noon(), AT_RATINGS)

    kinds = {(b.kind, b.element) for b in result.binding}
    assert kinds <= {("voltage_max", f"bus {bus}") for bus in (10, 11, 12, 20, 21, 22)}
    assert kinds  # at least one
    assert all(b.value == pytest.approx(1.05) for b in result.binding)
    assert result.binding[0].describe().startswith("voltage at bus ")


def test_nodal_prices_fall_towards_the_congested_end_and_say_why() -> None:
    result = clear(noon())

    busbar, far_end = result.price_at(0), result.price_at(12)
    assert busbar.price is not None and far_end.price is not None
    assert far_end.price < busbar.price  # energy is worth less where it cannot get out
    assert far_end.congestion < 0
    assert far_end.reasons and all(r.kind == "voltage_max" for r in far_end.reasons)
    assert far_end.export_price == RULES.feed_in_price + far_end.congestion
    assert len({n.price for n in result.nodal_prices}) > 1
    unmoved = [n for n in result.nodal_prices if n.congestion == 0]
    assert all(n.reasons == () for n in unmoved)


def test_the_cleared_noon_dispatch_passes_the_ac_power_flow() -> None:
    result = clear(noon())

    voltage, loading = ac_check(FEEDER, result)

    assert voltage.max() <= FEEDER.v_max_pu + AC_VOLTAGE_TOLERANCE_PU
    assert result.flow is not None
    assert np.abs(voltage - result.flow.voltage_pu).max() <= AC_VOLTAGE_TOLERANCE_PU
    assert loading.max() <= 1.0


def test_a_voltage_margin_keeps_even_the_ac_voltages_inside_the_band() -> None:
    margin = NetworkOptions(voltage_margin_pu=AC_VOLTAGE_TOLERANCE_PU, loading_limit=0.95)

    for orders in (noon(), evening()):
        voltage, loading = ac_check(FEEDER, clear(orders, margin))

        assert FEEDER.v_min_pu <= voltage.min() and voltage.max() <= FEEDER.v_max_pu
        assert loading.max() <= 1.0


def test_an_evening_overload_curtails_the_flexible_evs_not_the_households() -> None:
    result = clear(evening(), NetworkOptions(loading_limit=0.95))

    assert result.method == "lp"
    assert {b.kind for b in result.binding} == {"thermal"}
    by_home = {a.home_id: a for a in result.clearing.allocations}
    # Every household's 400 Wh (bid 200) is served; the EVs (bid 35) share what is left.
    assert all(a.buy_fills[0].grid_wh == 400 for a in by_home.values())
    assert {c.home_id for c in result.curtailment} <= {
        h for h, bus in FEEDER.homes.items() if bus <= 12
    }
    voltage, loading = ac_check(FEEDER, result)
    assert loading.max() <= 1.0  # current-based AC loading, losses included
    assert voltage.min() >= FEEDER.v_min_pu - AC_VOLTAGE_TOLERANCE_PU


# --- money: integer, balanced, nobody beyond their limit price -----------------------------------


@pytest.mark.parametrize("scenario", ["noon", "evening"])
def test_money_balances_to_the_congestion_rent(scenario: str) -> None:
    result = clear(noon()) if scenario == "noon" else clear(evening())
    c = result.clearing

    paid = sum(a.paid_mminor for a in c.allocations)
    received = sum(a.received_mminor for a in c.allocations)
    grid = RULES.retail_price * c.grid_import_wh - RULES.feed_in_price * c.grid_export_wh
    assert paid - received - c.fees_mminor - grid == result.congestion_rent_mminor
    assert result.congestion_rent_mminor >= 0


@pytest.mark.parametrize("scenario", ["noon", "evening"])
def test_nobody_pays_above_their_bid_or_sells_below_their_ask(scenario: str) -> None:
    orders = noon() if scenario == "noon" else evening()
    result = clear(orders)

    by_home = {o.home_id: o for o in orders}
    for allocation in result.clearing.allocations:
        order = by_home[allocation.home_id]
        worth = sum(
            s.price * (f.local_wh + f.grid_wh)
            for s, f in zip(order.buy, allocation.buy_fills, strict=True)
        )
        asked = sum(
            s.price * (f.local_wh + f.grid_wh)
            for s, f in zip(order.sell, allocation.sell_fills, strict=True)
        )
        assert allocation.paid_mminor <= worth
        assert allocation.received_mminor >= asked


def test_results_do_not_depend_on_the_order_of_the_bids() -> None:
    orders = noon()
    shuffled = orders[:]
    random.Random(7).shuffle(shuffled)

    first, second = clear(orders), clear(shuffled)

    assert first.clearing == second.clearing
    assert first.nodal_prices == second.nodal_prices
    assert first.curtailment == second.curtailment


# --- the grid backstop ---------------------------------------------------------------------------


def test_demand_the_feeder_cannot_carry_falls_back_to_the_merit_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    orders = evening(must_serve=3000)  # 3.4 kWh per quarter hour per home that must be served
    options = NetworkOptions(must_serve_price=100, voltage_margin_pu=0.0, loading_limit=1.0)

    with caplog.at_level(logging.WARNING, logger="hub.market.network"):
        result = clear(orders, options)

    assert result.method == "backstop"
    assert result.fallback_reason is not None
    assert "cannot be curtailed" in result.fallback_reason
    assert "breaks the voltage_min limit of bus 3" in result.fallback_reason
    assert result.clearing == clear_uniform_price(orders, RULES)
    assert result.fallback_reason in caplog.text
    assert_limits_held_or_impossible(orders, RULES, FEEDER, options, result)


def test_the_backstop_can_be_no_local_trade_at_all() -> None:
    orders = noon()
    options = NetworkOptions(backstop="no_local_trade", must_serve_price=0)
    hot = chain_feeder(2, voltage_pu=1.06, homes=dict.fromkeys(FEEDER.homes, 1))

    result = clear_network(orders, RULES, hot, interval_seconds=QUARTER, options=options)

    assert result.method == "backstop"
    assert result.fallback_reason is not None
    assert "transformer voltage 1.06" in result.fallback_reason
    assert (result.clearing.volume_wh, result.clearing.price) == (0, None)
    # Sellers at or below feed-in still export to the grid; buyers below retail get nothing.
    assert result.clearing.grid_export_wh == 40 * 1800
    assert result.clearing.grid_import_wh == 0


def test_a_home_without_a_bus_means_the_network_cannot_be_checked() -> None:
    orders = [*noon(), Order("newcomer", (Step(25, 100),), ())]

    result = clear(orders)

    assert result.method == "backstop"
    assert result.fallback_reason == (
        "home 'newcomer' has no bus on feeder 'Lindenweg example feeder'"
    )
    assert result.flow is None


def test_options_and_intervals_are_validated() -> None:
    with pytest.raises(ValueError, match="backstop"):
        NetworkOptions(backstop="pray")
    with pytest.raises(ValueError, match="loading_limit"):
        NetworkOptions(loading_limit=1.2)
    with pytest.raises(ValueError, match="interval_seconds"):
        clear_network(noon(), RULES, FEEDER, interval_seconds=0)


def test_fees_beyond_the_grids_spread_leave_only_grid_trades_to_the_network() -> None:
    # 2 x 20 > 30 - 8: no local trade can pay, as in the uniform market; PV still exports.
    costly = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=20)

    result = clear_network(noon(), costly, FEEDER, interval_seconds=QUARTER)

    merit = clear_uniform_price(noon(), costly)
    assert (merit.volume_wh, result.clearing.volume_wh) == (0, 0)
    assert result.method == "lp"
    assert 0 < result.clearing.grid_export_wh < merit.grid_export_wh
    assert result.flow is not None
    assert result.flow.voltage_pu.max() <= FEEDER.v_max_pu + 1e-6


@settings(max_examples=120, deadline=None)
@given(
    small_markets(),
    st.sampled_from([(0.2, 20.0), (0.05, 8.0), (0.3, 60.0), (0.5, 5.0)]),
    st.booleans(),
)
def test_constrained_clearing_keeps_limits_prices_and_money_consistent(
    market: tuple[list[Order], MarketRules, Feeder],
    line: tuple[float, float],
    must_serve: bool,
) -> None:
    orders, rules, strong = market
    r_ohm, limit_kva = line  # weak lines: limits bind in most examples
    feeder = chain_feeder(5, r_ohm=r_ohm, limit_kva=limit_kva, homes=strong.homes)
    options = NetworkOptions(must_serve_price=35 if must_serve else None)

    result = clear_network(orders, rules, feeder, interval_seconds=QUARTER, options=options)

    c = result.clearing
    assert result.flow is not None
    event(result.method)
    assert_limits_held_or_impossible(orders, rules, feeder, options, result)
    by_home = {o.home_id: o for o in orders}
    for a in c.allocations:
        order = by_home[a.home_id]
        worth = filled_value(order.buy, a.buy_fills, lambda p: p >= rules.retail_price)
        asked = filled_value(order.sell, a.sell_fills, lambda p: p <= rules.feed_in_price)
        # Nobody pays above their bid (except demand that must be served whatever it costs)...
        assert a.paid_mminor <= worth or (must_serve and any(s.price >= 35 for s in order.buy))
        assert a.received_mminor >= asked  # ...or receives below their ask
    assert sum(a.bought_local_wh for a in c.allocations) == c.volume_wh
    assert sum(a.sold_local_wh for a in c.allocations) == c.volume_wh
    paid = sum(a.paid_mminor for a in c.allocations)
    received = sum(a.received_mminor for a in c.allocations)
    grid = rules.retail_price * c.grid_import_wh - rules.feed_in_price * c.grid_export_wh
    assert paid - received - c.fees_mminor - grid == result.congestion_rent_mminor


def assert_limits_held_or_impossible(
    orders: list[Order],
    rules: MarketRules,
    feeder: Feeder,
    options: NetworkOptions,
    result: NetworkClearing,
) -> None:
    """Whatever the method, the network's limits (tightened by the options' margins) hold, or no
    dispatch could have held them and the backstop says why."""
    high = feeder.v_max_pu - options.voltage_margin_pu
    low = feeder.v_min_pu + options.voltage_margin_pu
    assert result.flow is not None
    if result.method == "merit_order":
        assert result.fallback_reason is None and result.lp is None
        assert result.flow.voltage_pu.max() <= high + 1e-9
        assert result.flow.voltage_pu.min() >= low - 1e-9
        assert result.flow.loading.max() <= options.loading_limit + 1e-9
    elif result.method == "lp":
        assert result.fallback_reason is None and result.lp is not None
        # Rounding to whole Wh moves each (bus, price) group by less than 1 Wh (4 W over 15
        # minutes): limits hold up to that.
        assert result.flow.voltage_pu.max() <= high + 1e-4
        assert result.flow.voltage_pu.min() >= low - 1e-4
        assert result.flow.loading.max() <= options.loading_limit + 1e-3
    else:
        assert result.method == "backstop"
        assert result.fallback_reason is not None
        # The demand that may not be curtailed alone already breaks a limit (the transformer is
        # at 1.0 p.u. on these feeders, inside the band), so no dispatch could hold them.
        assert options.must_serve_price is not None
        floor = max(options.must_serve_price, rules.retail_price)
        must_kw = np.zeros(feeder.tree.size)
        for order in orders:
            wh = sum(s.energy_wh for s in order.buy if s.price >= floor)
            must_kw[feeder.position_of(feeder.homes[order.home_id])] += wh * 3.6 / QUARTER
        assert violations(
            feeder,
            sweep(feeder, must_kw),
            margin_pu=options.voltage_margin_pu,
            loading_limit=options.loading_limit,
        )
        assert "cannot be curtailed" in result.fallback_reason


def filled_value(
    steps: tuple[Step, ...], fills: tuple[StepFill, ...], may_use_grid: Callable[[int], bool]
) -> int:
    """Sum of price x filled Wh, checking every fill fits its step and uses the grid only when the
    step's price allows."""
    value = 0
    for step, fill in zip(steps, fills, strict=True):
        assert fill.local_wh >= 0 and fill.grid_wh >= 0
        assert fill.local_wh + fill.grid_wh <= step.energy_wh
        assert fill.grid_wh == 0 or may_use_grid(step.price)
        value += step.price * (fill.local_wh + fill.grid_wh)
    return value
