"""The clearing benchmark's numpy reference (bench/bench_clearing.py) is the same clearing.

The benchmark's target is a ratio against that reference, so it must compute exactly what
clear_uniform_price computes: the price, its interval and every home's volumes, on any market, not
only on the benchmark's inputs (which it also checks before timing anything).
"""

from __future__ import annotations

from hypothesis import given, settings

from bench.bench_clearing import RULES, agrees, neighbourhood, numpy_clearing
from hub.market import MarketRules, Order, Step, clear_uniform_price
from tests.hub.market.strategies import markets


@settings(max_examples=400, deadline=None)
@given(markets())
def test_the_numpy_reference_clears_like_the_market(
    market: tuple[list[Order], MarketRules],
) -> None:
    orders, rules = market
    assert agrees(clear_uniform_price(orders, rules), numpy_clearing(orders, rules))


def test_the_numpy_reference_clears_the_benchmark_neighbourhood_like_the_market() -> None:
    import numpy as np

    orders = neighbourhood(500, np.random.default_rng(7))

    reference = numpy_clearing(orders, RULES)

    assert reference.volume_wh > 0
    assert agrees(clear_uniform_price(orders, RULES), reference)


def test_disagreement_is_noticed() -> None:
    orders = [Order("a", (Step(25, 100),), ()), Order("b", (), (Step(10, 100),))]
    result = clear_uniform_price(orders, RULES)
    reference = numpy_clearing(orders, RULES)

    assert agrees(result, reference)
    assert not agrees(result, numpy_clearing(orders, MarketRules(30, 8, 1, k_percent=0)))
    assert not agrees(clear_uniform_price(orders[:1], RULES), reference)
