"""Bid curves on the wire: parse_bid accepts sane curves and names what is wrong with the rest."""

from __future__ import annotations

from typing import Any

import pytest
from gridcoop_home.protocol.bids import (
    MAX_STEPS_PER_SIDE,
    Bid,
    BidCurves,
    BidLimits,
    BidStep,
    parse_bid,
)
from gridcoop_home.protocol.errors import (
    CURVES_CROSS,
    MALFORMED,
    NOT_MONOTONE,
    OUT_OF_BOUNDS,
    ProtocolError,
)

LIMITS = BidLimits()  # prices [-500, 5000] minor/kWh, steps of 1..100_000 Wh, 16 steps a side
START = 1_767_225_600


def step(price: int, energy_wh: int = 500, asset: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"price": price, "energy_wh": energy_wh}
    if asset is not None:
        data["asset"] = asset
    return data


def body(buy: list[Any] | None = None, sell: list[Any] | None = None, **extra: Any) -> dict:
    data: dict[str, Any] = {"interval_start": START, **extra}
    if buy is not None:
        data["buy"] = buy
    if sell is not None:
        data["sell"] = sell
    return data


def reason(data: dict[str, Any], limits: BidLimits = LIMITS) -> str:
    with pytest.raises(ProtocolError) as err:
        parse_bid(data, limits)
    return err.value.reason


def test_a_valid_bid_parses_into_tagged_steps() -> None:
    bid = parse_bid(
        body(
            buy=[step(40, 1_000, "ev"), step(25, 800, "load:dishwasher"), step(25, 200)],
            sell=[step(45, 700, "battery"), step(50, 2_000, "pv")],
        ),
        LIMITS,
    )

    assert bid == Bid(
        interval_start=START,
        curves=BidCurves(
            buy=(BidStep(40, 1_000, "ev"), BidStep(25, 800, "load:dishwasher"), BidStep(25, 200)),
            sell=(BidStep(45, 700, "battery"), BidStep(50, 2_000, "pv")),
        ),
    )
    assert bid.curves.buy[2].asset == "base"


def test_a_bid_survives_a_wire_round_trip() -> None:
    bid = parse_bid(body(buy=[step(20, 100, "ev")], sell=[step(21, 50, "pv")]), LIMITS)

    assert bid.to_wire() == {
        "interval_start": START,
        "buy": [{"price": 20, "energy_wh": 100, "asset": "ev"}],
        "sell": [{"price": 21, "energy_wh": 50, "asset": "pv"}],
    }
    assert parse_bid(bid.to_wire(), LIMITS) == bid


def test_a_bid_step_survives_a_wire_round_trip() -> None:
    original = BidStep(price=-12, energy_wh=3_400, asset="load:heat_pump-2")

    assert BidStep.from_wire(original.to_wire(), "buy[0]") == original


def test_one_sided_bids_are_fine() -> None:
    assert parse_bid(body(buy=[step(10)]), LIMITS).curves.sell == ()
    assert parse_bid(body(sell=[step(10)]), LIMITS).curves.buy == ()


@pytest.mark.parametrize("data", [body(), body(buy=[], sell=[])], ids=["no_sides", "empty_sides"])
def test_a_bid_without_any_step_is_malformed(data: dict[str, Any]) -> None:
    assert reason(data) == MALFORMED


def test_buy_prices_must_not_increase() -> None:
    assert parse_bid(body(buy=[step(30), step(30), step(29)]), LIMITS).curves.buy[2].price == 29
    assert reason(body(buy=[step(30), step(31)])) == NOT_MONOTONE


def test_sell_prices_must_not_decrease() -> None:
    assert parse_bid(body(sell=[step(5), step(5), step(6)]), LIMITS).curves.sell[2].price == 6
    assert reason(body(sell=[step(6), step(5)])) == NOT_MONOTONE


@pytest.mark.parametrize(("best_buy", "best_sell"), [(20, 20), (25, 20)])
def test_a_buy_price_at_or_above_a_sell_price_is_curves_cross(
    best_buy: int, best_sell: int
) -> None:
    assert reason(body(buy=[step(best_buy)], sell=[step(best_sell)])) == CURVES_CROSS


def test_a_buy_price_just_below_the_lowest_sell_price_is_fine() -> None:
    bid = parse_bid(body(buy=[step(19), step(3)], sell=[step(20), step(50)]), LIMITS)

    assert [s.price for s in bid.curves.buy] == [19, 3]


@pytest.mark.parametrize("price", [LIMITS.price_min, LIMITS.price_max])
def test_prices_at_the_limits_are_fine(price: int) -> None:
    assert parse_bid(body(buy=[step(price)]), LIMITS).curves.buy[0].price == price


@pytest.mark.parametrize("price", [LIMITS.price_min - 1, LIMITS.price_max + 1])
@pytest.mark.parametrize("side", ["buy", "sell"])
def test_prices_beyond_the_limits_are_out_of_bounds(price: int, side: str) -> None:
    assert reason(body(**{side: [step(price)]})) == OUT_OF_BOUNDS


@pytest.mark.parametrize("energy", [0, -1, LIMITS.max_step_wh + 1])
@pytest.mark.parametrize("side", ["buy", "sell"])
def test_step_energy_outside_one_to_the_maximum_is_out_of_bounds(energy: int, side: str) -> None:
    assert reason(body(**{side: [step(10, energy)]})) == OUT_OF_BOUNDS


def test_a_step_of_exactly_the_maximum_energy_is_fine() -> None:
    bid = parse_bid(body(sell=[step(10, LIMITS.max_step_wh)]), LIMITS)

    assert bid.curves.sell[0].energy_wh == 100_000


def test_at_most_max_steps_per_side() -> None:
    assert MAX_STEPS_PER_SIDE == 16
    allowed = [step(100 - i) for i in range(16)]
    assert len(parse_bid(body(buy=allowed), LIMITS).curves.buy) == 16
    assert reason(body(buy=[*allowed, step(1)])) == OUT_OF_BOUNDS
    assert reason(body(sell=[step(i) for i in range(17)])) == OUT_OF_BOUNDS


def test_the_hub_can_configure_its_own_limits() -> None:
    strict = BidLimits(price_min=0, price_max=100, max_step_wh=1_000, max_steps=2)

    assert reason(body(buy=[step(-1)]), strict) == OUT_OF_BOUNDS
    assert reason(body(buy=[step(10, 1_001)]), strict) == OUT_OF_BOUNDS
    assert reason(body(buy=[step(3), step(2), step(1)]), strict) == OUT_OF_BOUNDS
    assert parse_bid(body(buy=[step(100, 1_000)]), strict).curves.buy[0].price == 100


def test_unknown_fields_are_malformed_in_the_bid_and_in_a_step() -> None:
    assert reason(body(buy=[step(10)], deadline=5)) == MALFORMED
    assert reason(body(buy=[{**step(10), "note": "x"}])) == MALFORMED


@pytest.mark.parametrize(
    "asset",
    ["Battery", "heat_pump", "load:", "load:Dish", "load:a b", "load:" + "a" * 33, "pv ", 5, None],
)
def test_bad_asset_tags_are_malformed(asset: object) -> None:
    assert reason(body(buy=[{"price": 10, "energy_wh": 5, "asset": asset}])) == MALFORMED


@pytest.mark.parametrize(
    "asset", ["base", "pv", "battery", "ev", "load:dishwasher", "load:" + "a" * 32, "load:wm-2_b"]
)
def test_known_asset_tags_are_accepted(asset: str) -> None:
    assert parse_bid(body(buy=[step(10, 5, asset)]), LIMITS).curves.buy[0].asset == asset


@pytest.mark.parametrize(
    "data",
    [
        {"buy": [step(10)]},
        body(buy=[step(10)], interval_start="1767225600"),
        body(buy=[step(10)], interval_start=True),
        body(buy=[{"price": 1.5, "energy_wh": 5}]),
        body(buy=[{"price": 10}]),
        body(buy=[{"price": 10, "energy_wh": False}]),
        body(buy=[[10, 5]]),
        body(buy={"price": 10, "energy_wh": 5}),
        body(sell="none"),
    ],
    ids=[
        "no_interval",
        "string_interval",
        "bool_interval",
        "float_price",
        "no_energy",
        "bool_energy",
        "step_not_object",
        "side_not_list",
        "sell_not_list",
    ],
)
def test_wrongly_typed_bids_are_malformed(data: dict[str, Any]) -> None:
    assert reason(data) == MALFORMED


def test_a_baseline_travels_with_the_bid_and_is_left_out_when_empty() -> None:
    bid = parse_bid(
        body(buy=[step(21, 412, "battery")], baseline={"battery": -412, "load:washer": 500}),
        LIMITS,
    )

    assert bid.curves.baseline == {"battery": -412, "load:washer": 500}
    assert bid.to_wire()["baseline"] == {"battery": -412, "load:washer": 500}
    assert parse_bid(bid.to_wire(), LIMITS) == bid
    # A bid without one keeps the exact bytes it always had (old signatures stay valid).
    assert "baseline" not in parse_bid(body(buy=[step(20)]), LIMITS).to_wire()


@pytest.mark.parametrize(
    ("baseline", "expected"),
    [
        ([1, 2], MALFORMED),  # not an object
        ({"base": 100}, MALFORMED),  # inflexible load is no device
        ({"boiler": 100}, MALFORMED),  # not a device tag
        ({"battery": 1.5}, MALFORMED),  # Wh are integers
        ({"battery": True}, MALFORMED),
        ({"battery": 1_600_001}, OUT_OF_BOUNDS),  # beyond max_step_wh x max_steps
        ({f"load:l{i}": 1 for i in range(33)}, OUT_OF_BOUNDS),  # too many devices
    ],
)
def test_a_bad_baseline_is_refused_with_a_reason(baseline: Any, expected: str) -> None:
    assert reason(body(buy=[step(20)], baseline=baseline)) == expected
