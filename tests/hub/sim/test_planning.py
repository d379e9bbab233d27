"""What a bid reads from its home's plan: the expected prices from a slot on."""

from __future__ import annotations

import numpy as np
import pytest

from hub.sim.config import SLOTS_PER_DAY
from hub.sim.planning import PlanRef, prices_ahead


def plan_with_prices(start: int, prices: list[float]) -> PlanRef:
    zeros = np.zeros(len(prices))
    price = np.array(prices)
    return PlanRef(start, zeros, zeros, zeros, {}, zeros, price, prices_ahead(price))


def test_prices_within_the_horizon_are_the_plans_own() -> None:
    ref = plan_with_prices(10, [float(p) for p in range(SLOTS_PER_DAY)])

    assert list(ref.prices_from(12, 3)) == [2.0, 3.0, 4.0]


def test_past_the_horizon_prices_repeat_the_same_time_of_day_on_the_plans_last_day() -> None:
    # A 30 h plan: slot 120 (30 h on) is priced like slot 96 - 72 = 24 (the last day, 6 h in).
    ref = plan_with_prices(0, [float(p) for p in range(120)])

    assert list(ref.prices_from(118, 4)) == [118.0, 119.0, 24.0, 25.0]
    assert list(ref.prices_from(120 + 2 * SLOTS_PER_DAY, 2)) == [24.0, 25.0]  # days on, too


def test_prices_before_the_plan_starts_are_its_first() -> None:
    ref = plan_with_prices(10, [5.0, 6.0, 7.0])

    assert list(ref.prices_from(8, 4)) == [5.0, 5.0, 5.0, 6.0]


def test_the_prices_handed_out_cannot_change_the_plan() -> None:
    ref = plan_with_prices(0, [1.0] * SLOTS_PER_DAY)

    with pytest.raises(ValueError, match="read-only"):
        ref.prices_from(3, SLOTS_PER_DAY + 1)[0] = 99.0
