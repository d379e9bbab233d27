"""An EV with an earliest start does not charge before it (a night tariff, a car due home later)."""

from __future__ import annotations

import pytest
from gridcoop_home.planner import EV, PlannerInputError, plan
from gridcoop_home.planner.inputs import SLOT

from tests.home.planner.factory import START, at, request, slot_of


def ev(**changes: object) -> EV:
    fields: dict[str, object] = {
        "capacity_wh": 60_000,
        "soc_wh": 10_000,
        "target_wh": 20_000,
        "departure": at(7),
        "max_charge_w": 7_400,
        "earliest_start": at(3),
    }
    fields.update(changes)
    return EV(**fields)  # type: ignore[arg-type]


def test_the_ev_waits_for_its_earliest_start_even_when_earlier_hours_are_cheaper() -> None:
    # The cheapest hours (0-2) are before the earliest start: it charges from 03:00 on.
    result = plan(request([5, 5, 5, 30, 20, 30, 30, 30], ev=ev()))
    s = result.schedule
    assert sum(s.ev_charge_w[: slot_of(3)]) == 0
    assert s.ev_soc_wh[slot_of(7) - 1] >= 20_000 - 1
    assert not result.violations
    # Within its window it still takes the cheapest hour: 10 kWh / 0.9 at 7.4 kW is ~1.5 h.
    assert min(s.ev_charge_w[slot_of(4) : slot_of(5)]) > 7_000


def test_an_earliest_start_inside_a_slot_starts_at_the_next_slot() -> None:
    # 00:20: slot 1 (00:15-00:30) is partly before it. One slot at 7.4 kW covers the 1 kWh
    # asked, and prices rise slot by slot: the EV charges in slot 2 alone.
    rising = [1.0, 2.0, 5.0, 10.0] + [40.0] * 28
    late = ev(earliest_start=START + SLOT + SLOT / 3, target_wh=11_000)
    result = plan(request([40] * 8, ev=late, price_forecast=rising))
    charging = [t for t, w in enumerate(result.schedule.ev_charge_w) if w > 1]
    assert charging == [2]


def test_a_start_too_late_for_the_target_is_reported_with_what_is_reachable() -> None:
    # From 06:00 to 07:00 at 7.4 kW x 90 %: 6,660 Wh of the 10,000 Wh asked.
    result = plan(request([20] * 8, ev=ev(earliest_start=at(6))))
    (violation,) = result.violations
    assert violation.limit == "ev_target"
    assert violation.reason == (
        "the charger can bring the EV to at most 16660 Wh before departure, 20000 Wh were asked"
    )
    assert violation.amount_wh == pytest.approx(20_000 - 16_660, abs=5)


def test_no_ev_bid_before_the_earliest_start() -> None:
    result = plan(request([5] * 8, ev=ev()))
    assert result.bids is not None
    assert all(step.asset != "ev" for step in (*result.bids.buy, *result.bids.sell))
    assert result.dispatch.ev_w == 0


def test_an_earliest_start_past_the_horizon_only_asks_for_what_the_horizon_must_hold() -> None:
    # Horizon 2 h, window 03:00-07:00 (4 h at 6.66 kWh/h): all of the 10 kWh fits after it.
    result = plan(request([5, 5], ev=ev()))
    assert sum(result.schedule.ev_charge_w) == 0
    assert not result.violations


@pytest.mark.parametrize(
    ("earliest", "message"),
    [(at(7), "must be before ev.departure"), (at(1).replace(tzinfo=None), "timezone-aware")],
)
def test_a_bad_earliest_start_is_rejected_naming_the_field(earliest: object, message: str) -> None:
    with pytest.raises(PlannerInputError, match=message) as raised:
        plan(request([20] * 8, ev=ev(earliest_start=earliest)))
    assert raised.value.field == "ev.earliest_start"
