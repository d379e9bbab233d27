"""Random markets for the property tests of the clearing (hypothesis strategies)."""

from __future__ import annotations

from hypothesis import strategies as st

from hub.market import MarketRules, Order, Step

# Repeated energies make equal remainders, so the rationing's tie-breaks get exercised.
SMALL_ENERGY = st.one_of(st.sampled_from([3, 10]), st.integers(1, 60))
# Round household energies make exact matches at the margins (wide price intervals) likely too.
HOUSEHOLD_ENERGY = st.one_of(st.sampled_from([500, 1000, 2000]), st.integers(1, 3000))


@st.composite
def orders_for(
    draw: st.DrawFn, home_id: str, energy: st.SearchStrategy[int] = SMALL_ENERGY
) -> Order:
    # Buy prices sit below `split` and sell prices at or above it, so the curves never cross.
    split = draw(st.integers(-2, 42))
    buy = sorted(draw(st.lists(st.integers(-4, split - 1), max_size=3)), reverse=True)
    sell = sorted(draw(st.lists(st.integers(split, 44), max_size=3)))
    return Order(
        home_id,
        tuple(Step(p, draw(energy)) for p in buy),
        tuple(Step(p, draw(energy)) for p in sell),
        draw(st.integers(0, 2)),
    )


@st.composite
def markets(
    draw: st.DrawFn, max_homes: int = 7, energy: st.SearchStrategy[int] = SMALL_ENERGY
) -> tuple[list[Order], MarketRules]:
    """Up to `max_homes` homes (ids in any order) and rules with any fee and k."""
    feed_in = draw(st.integers(0, 20))
    rules = MarketRules(
        retail_price=draw(st.integers(feed_in, 40)),
        feed_in_price=feed_in,
        fee_per_kwh=draw(st.integers(0, 4)),
        k_percent=draw(st.sampled_from([0, 33, 50, 67, 100])),
    )
    ids = draw(st.lists(st.text("abcd", min_size=1, max_size=2), max_size=max_homes, unique=True))
    return [draw(orders_for(home_id, energy)) for home_id in ids], rules
