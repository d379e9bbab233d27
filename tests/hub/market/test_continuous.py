"""Specification of continuous trading (hub.market.continuous; docs/feeder.md).

Unless a test says otherwise the grid sells at R = 30, buys at F = 8, there is no fee, so an
order's level is its limit price; energy in Wh, prices in minor units per kWh.
"""

from __future__ import annotations

import pytest

from hub.grid import Bus, Feeder, Line, Transformer
from hub.market import (
    CallbackHeadroom,
    ClearingResult,
    FeederHeadroom,
    LimitOrder,
    MarketRules,
    Order,
    OrderBook,
    Side,
    Step,
    StepFill,
    settle,
)

RULES = MarketRules(retail_price=30, feed_in_price=8)
_ids = iter(range(1, 1_000_000))


def buy(home: str, price: int, energy: int, order_id: str | None = None) -> LimitOrder:
    return LimitOrder(order_id or f"o{next(_ids)}", home, Side.BUY, price, energy)


def sell(home: str, price: int, energy: int, order_id: str | None = None) -> LimitOrder:
    return LimitOrder(order_id or f"o{next(_ids)}", home, Side.SELL, price, energy)


def fills(book: OrderBook) -> list[tuple[str, str, int, int]]:
    return [(t.buyer, t.seller, t.price, t.energy_wh) for t in book.trades]


# --- matching ------------------------------------------------------------------------------------


def test_orders_that_do_not_cross_rest_in_the_book() -> None:
    book = OrderBook(RULES)

    book.submit(buy("a", 15, 500))
    book.submit(sell("b", 18, 500))

    assert (book.best_bid(), book.best_ask(), book.trades) == (15, 18, ())


def test_a_crossing_order_trades_at_the_resting_orders_price() -> None:
    book = OrderBook(RULES)
    book.submit(sell("s", 12, 500))

    submission = book.submit(buy("b", 20, 500))

    assert fills(book) == [("b", "s", 12, 500)]
    assert submission.resting_wh == 0
    book.submit(buy("c", 16, 300))
    book.submit(sell("t", 10, 300))  # an incoming sell trades at the resting bid
    assert fills(book)[-1] == ("c", "t", 16, 300)


def test_better_prices_match_first() -> None:
    book = OrderBook(RULES)
    for home, price in (("s15", 15), ("s12", 12), ("s14", 14)):
        book.submit(sell(home, price, 100))

    book.submit(buy("b", 20, 250))

    assert fills(book) == [("b", "s12", 12, 100), ("b", "s14", 14, 100), ("b", "s15", 15, 50)]


def test_at_the_same_price_the_earlier_order_matches_first() -> None:
    book = OrderBook(RULES)
    book.submit(sell("first", 12, 100))
    book.submit(sell("second", 12, 100))

    book.submit(buy("b", 12, 150))

    assert fills(book) == [("b", "first", 12, 100), ("b", "second", 12, 50)]


def test_partial_fills_leave_the_rest_on_both_sides() -> None:
    book = OrderBook(RULES)
    resting = sell("s", 12, 1000, order_id="ask")
    book.submit(resting)

    first = book.submit(buy("b", 15, 400))
    second = book.submit(buy("c", 11, 700, order_id="bid"))  # below the ask: rests

    assert (first.resting_wh, book.resting_wh("ask")) == (0, 600)
    assert (second.trades, second.resting_wh, book.best_bid()) == ((), 700, 11)
    third = book.submit(buy("d", 13, 900, order_id="big"))
    assert [t.energy_wh for t in third.trades] == [600]
    assert (third.resting_wh, book.best_bid()) == (300, 13)


def test_cancel_withdraws_what_is_left() -> None:
    book = OrderBook(RULES)
    book.submit(sell("s", 12, 1000, order_id="ask"))
    book.submit(buy("b", 15, 400))

    assert book.cancel("ask") == 600
    assert book.best_ask() is None
    assert book.submit(buy("c", 20, 100)).trades == ()  # nothing left to trade with
    assert book.cancel("ask") == 0  # cancelling twice withdraws nothing more
    with pytest.raises(KeyError):
        book.cancel("never-seen")


def test_fees_and_grid_prices_bound_what_a_local_trade_may_cost() -> None:
    # A buyer bidding 40 is worth no more than retail locally (30 - fee 1 = 29); a seller asking
    # 5 costs no less than feed-in (8 + fee 1 = 9). The trade price is the resting order's level.
    book = OrderBook(MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1))
    book.submit(buy("b", 40, 100))

    book.submit(sell("s", 5, 100))

    [trade] = book.trades
    assert trade.price == 29  # the buyer pays 29 + 1 = 30, the seller receives 29 - 1 = 28
    book.submit(buy("c", 10, 100))
    assert book.submit(sell("t", 9, 100)).trades == ()  # 10 - 1 < 9 + 1: does not cross


def test_a_home_cannot_trade_with_itself_or_reuse_an_order_id() -> None:
    book = OrderBook(RULES)
    book.submit(sell("h", 12, 100, order_id="x"))

    with pytest.raises(ValueError, match="crosses home 'h'"):
        book.submit(buy("h", 12, 100))
    with pytest.raises(ValueError, match="duplicate order_id"):
        book.submit(sell("g", 12, 100, order_id="x"))
    book.submit(buy("h", 11, 100))  # below its own ask: fine, and it rests
    assert book.trades == ()


def test_orders_validate_themselves() -> None:
    with pytest.raises(ValueError, match="energy_wh"):
        buy("a", 10, 0)
    with pytest.raises(ValueError, match="price must be an int"):
        LimitOrder("o", "a", Side.BUY, 10.5, 10)  # type: ignore[arg-type]


# --- headroom: no match may overload the network -------------------------------------------------


def test_a_refused_match_is_skipped_for_the_next_best_order() -> None:
    refuse = {("b", "far")}
    book = OrderBook(RULES, CallbackHeadroom(lambda b, s: 0 if (b, s) in refuse else 10**9))
    book.submit(sell("far", 10, 100, order_id="cheap"))
    book.submit(sell("near", 12, 100))

    submission = book.submit(buy("b", 15, 100))

    assert fills(book) == [("b", "near", 12, 100)]
    assert submission.blocked == ("cheap",)
    assert book.resting_wh("cheap") == 100  # still there for others


def test_a_partial_allowance_trades_only_that_much() -> None:
    book = OrderBook(RULES, CallbackHeadroom(lambda b, s: 30 if s == "far" else 10**9))
    book.submit(sell("far", 10, 100))
    book.submit(sell("near", 12, 100))

    book.submit(buy("b", 15, 100))

    assert fills(book) == [("b", "far", 10, 30), ("b", "near", 12, 70)]


def thin_feeder() -> Feeder:
    """Busbar 0 - line A (28 kVA) - bus 1 - line B (11 kVA) - bus 2; 'near' on 1, 'far' on 2."""
    return Feeder(
        name="thin",
        nominal_kv=0.4,
        transformer=Transformer("T", 0, 100),
        buses=(Bus(0), Bus(1), Bus(2)),
        lines=(Line("A", 0, 1, 0.001, 0.0, 28), Line("B", 1, 2, 0.001, 0.0, 11)),
        homes={"busbar": 0, "near": 1, "far": 2, "far2": 2},
    )


def test_feeder_headroom_refuses_what_would_overload_a_line() -> None:
    # 15-minute interval: 11 kVA on line B carries 2750 Wh (at its rating, not the default 95 %).
    book = OrderBook(RULES, FeederHeadroom(thin_feeder(), 900, margin_pu=0.0, loading_limit=1.0))
    book.submit(sell("far", 10, 5000, order_id="pv"))

    first = book.submit(buy("busbar", 15, 2000))
    second = book.submit(buy("near", 15, 2000))
    same_bus = book.submit(buy("far2", 15, 500))

    assert [t.energy_wh for t in first.trades] == [2000]
    assert [t.energy_wh for t in second.trades] == [750]  # line B is full at 2750 Wh
    assert second.resting_wh == 1250
    assert [t.energy_wh for t in same_bus.trades] == [500]  # no line between them
    blocked = book.submit(buy("busbar", 15, 100))
    assert (blocked.trades, blocked.blocked) == ((), ("pv",))


# --- settlement: the periodic market's result shape ----------------------------------------------


def traded_book() -> OrderBook:
    book = OrderBook(MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1))
    book.submit(sell("pv", 12, 1000, order_id="pv-1"))
    book.submit(sell("pv", 6, 500, order_id="pv-0"))  # at or below feed-in: the rest is exported
    book.submit(buy("ev", 35, 800, order_id="ev-1"))  # at or above retail: the rest is imported
    book.submit(buy("heat", 20, 600, order_id="heat"))
    book.submit(buy("ev", 12, 400, order_id="ev-2"))  # 12 - 1 < 13: rests
    book.cancel("ev-2")
    return book


def test_settlement_totals_per_home_in_the_periodic_shape() -> None:
    result = traded_book().settle()
    c = result.clearing

    assert isinstance(c, ClearingResult)
    assert [a.home_id for a in c.allocations] == ["ev", "heat", "pv"]
    ev, heat, pv = c.allocations
    # ev bought 500 at pv-0's level (8 + 1 = 9) and 300 at pv-1's level (12 + 1 = 13).
    assert (ev.bought_local_wh, ev.bought_grid_wh) == (800, 0)
    assert ev.paid_mminor == 500 * (9 + 1) + 300 * (13 + 1)
    assert heat.bought_local_wh == 600 and heat.paid_mminor == 600 * (13 + 1)
    # pv's curve is sorted by price: pv-0 (6) first, then pv-1 (12), whose last 100 Wh find no
    # buyer and, asked above feed-in, stay unsold.
    assert pv.sell_fills == (StepFill(500, 0), StepFill(900, 0))
    assert pv.received_mminor == 500 * (9 - 1) + 900 * (13 - 1)
    assert (c.volume_wh, c.price_low, c.price_high) == (1400, 9, 13)
    assert c.price == (500 * 9 + 900 * 13) // 1400
    assert c.fees_mminor == 2 * 1400


def test_settlement_curves_line_up_with_the_fills_for_dispatch() -> None:
    result = traded_book().settle()

    ev_curve = next(o for o in result.orders if o.home_id == "ev")
    # ev-2 was cancelled before it traded: it is not part of the curve.
    assert ev_curve == Order("ev", (Step(35, 800),), ())
    assert result.step_orders["ev"] == (("ev-1",), ())
    assert result.step_orders["pv"] == ((), ("pv-0", "pv-1"))
    for order, allocation in zip(result.orders, result.clearing.allocations, strict=True):
        assert len(order.buy) == len(allocation.buy_fills)
        assert len(order.sell) == len(allocation.sell_fills)


def test_unfilled_energy_at_or_beyond_grid_prices_goes_to_the_grid() -> None:
    book = OrderBook(RULES)
    book.submit(buy("ev", 35, 800))
    book.submit(sell("pv", 6, 300))
    book.submit(sell("pv2", 32, 1000))  # above retail: nobody local buys it

    c = book.settle().clearing

    assert (c.volume_wh, c.grid_import_wh, c.grid_export_wh) == (300, 500, 0)
    ev = c.allocations[0]
    assert ev.buy_fills == (StepFill(300, 500),)
    assert ev.paid_mminor == 300 * 30 + 500 * 30  # traded at the resting bid (30), rest at retail


def test_money_balances_like_the_periodic_market() -> None:
    c = traded_book().settle().clearing

    paid = sum(a.paid_mminor for a in c.allocations)
    received = sum(a.received_mminor for a in c.allocations)
    grid = 30 * c.grid_import_wh - 8 * c.grid_export_wh
    assert paid - received == c.fees_mminor + grid


def test_the_same_arrivals_give_the_same_trades_and_settlement() -> None:
    first, second = traded_book(), traded_book()

    assert fills(first) == fills(second)
    assert first.settle() == second.settle()
    assert settle(first.orders, first.trades, {"ev-2": 400}, first.rules) == first.settle()
