"""Settlement arithmetic: boundary readings, imbalance at grid tariffs, exact money and the
minor-unit rounding rule, pro-rata splits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.ledger.accounts.meters import MeterTimeline
from hub.ledger.accounts.params import LedgerParams
from hub.ledger.accounts.settlement import Allocation, Clearing, settle_interval, split

PARAMS = LedgerParams(chain_id="t")
START, END = 1_800_000_000, 1_800_000_900
HOUR_MS = 3_600_000


def timeline(*points: tuple[int, int, int]) -> MeterTimeline:
    """Readings as (ts_ms, import_wh, export_wh)."""
    meter = MeterTimeline()
    for seq, (ts, import_wh, export_wh) in enumerate(points, start=1):
        meter.add(seq, ts, import_wh, export_wh)
    return meter


# -- boundaries ------------------------------------------------------------------------------


def test_a_reading_exactly_at_the_boundary_is_used_as_it_is() -> None:
    meter = timeline((0, 10, 0), (1000, 20, 5), (2000, 90, 5))
    assert meter.value_at(1000, HOUR_MS) == (20, 5)


def test_between_readings_the_value_is_interpolated_and_rounded_down() -> None:
    meter = timeline((0, 0, 0), (3000, 10, 1))
    assert meter.value_at(1000, HOUR_MS) == (3, 0)  # 10/3 -> 3, 1/3 -> 0
    assert meter.value_at(2000, HOUR_MS) == (6, 0)


def test_without_a_reading_after_or_before_the_boundary_it_is_unknown() -> None:
    meter = timeline((1000, 0, 0), (2000, 10, 0))
    assert meter.value_at(2500, HOUR_MS) is None  # not yet
    assert meter.value_at(500, HOUR_MS) is None  # the meter is younger


def test_no_interpolation_across_a_gap_longer_than_allowed() -> None:
    meter = timeline((0, 0, 0), (2 * HOUR_MS, 100, 0))
    assert meter.value_at(HOUR_MS, HOUR_MS) is None
    assert meter.value_at(HOUR_MS, 2 * HOUR_MS) == (50, 0)


def test_pruning_keeps_the_last_reading_a_later_boundary_needs() -> None:
    meter = timeline((0, 0, 0), (1000, 10, 0), (2000, 20, 0), (3000, 30, 0))
    meter.prune_before(2500)
    assert meter.times == [2000, 3000]
    assert meter.value_at(2500, HOUR_MS) == (25, 0)


# -- splitting ----------------------------------------------------------------------------------


def test_split_is_pro_rata_with_largest_remainders_and_ties_to_the_smaller_key() -> None:
    assert split(10, [("a", 1), ("b", 1), ("c", 1)]) == {"a": 4, "b": 3, "c": 3}
    assert split(7, [("x", 600), ("y", 100)]) == {"x": 6, "y": 1}
    assert split(0, [("a", 5)]) == {}
    assert split(3, [("a", 0)]) == {}


@given(st.integers(0, 10_000), st.lists(st.integers(0, 10_000), min_size=1, max_size=20))
def test_property_split_hands_out_exactly_the_total(total: int, weights: list[int]) -> None:
    named = [(f"h{i:02d}", w) for i, w in enumerate(weights)]
    shares = split(total, named)
    assert sum(shares.values()) == (total if sum(weights) else 0)
    assert all(shares.get(k, 0) <= total * w // sum(weights) + 1 for k, w in named if sum(weights))


# -- one home ---------------------------------------------------------------------------------


def settle_one(
    allocation: Allocation,
    grid: MeterTimeline | None,
    balance: int = 0,
    retail: int = 30,
    feed_in: int = 8,
) -> dict[str, object]:
    clearing = Clearing(START, END, retail, feed_in, (allocation,))
    meters = {allocation.home_id: [("g", "grid")] if grid else []}
    [settlement, *_] = settle_interval(
        clearing, meters, {"g": grid} if grid else {}, {allocation.home_id: balance}, PARAMS
    ).entries()
    return settlement


def grid_over_interval(taken: int, delivered: int) -> MeterTimeline:
    return timeline((START * 1000, 1000, 2000), (END * 1000, 1000 + taken, 2000 + delivered))


def buyer(bought_local: int = 0, bought_grid: int = 0, paid: int = 0) -> Allocation:
    return Allocation("h", bought_local, 0, bought_grid, 0, paid, 0, ())


def test_taking_exactly_what_was_bought_costs_only_the_market_price() -> None:
    s = settle_one(buyer(600, paid=12_000), grid_over_interval(600, 0))
    assert (s["taken_wh"], s["imbalance_wh"], s["imbalance_mminor"]) == (600, 0, 0)
    assert s["amount_mminor"] == -12_000
    assert (s["amount_minor"], s["balance_minor"]) == (-12, -12)


def test_taking_more_than_bought_pays_the_difference_at_retail() -> None:
    s = settle_one(buyer(600, paid=12_000), grid_over_interval(650, 0), retail=30)
    assert s["imbalance_wh"] == 50
    assert s["imbalance_mminor"] == -50 * 30
    assert s["amount_mminor"] == -13_500


def test_taking_less_than_bought_is_credited_at_feed_in() -> None:
    s = settle_one(buyer(600, paid=12_000), grid_over_interval(500, 0), feed_in=8)
    assert s["imbalance_wh"] == -100
    assert s["imbalance_mminor"] == 800
    assert s["amount_mminor"] == -11_200


def test_a_seller_that_delivers_less_than_it_sold_buys_the_shortfall_at_retail() -> None:
    seller = Allocation("h", 0, 500, 0, 100, 0, 10_800, ())
    s = settle_one(seller, grid_over_interval(0, 550), retail=30)
    assert (s["allocated_out_wh"], s["delivered_wh"], s["imbalance_wh"]) == (600, 550, 50)
    assert s["amount_mminor"] == 10_800 - 1_500


def test_a_home_without_readings_at_both_boundaries_settles_at_its_allocation() -> None:
    late = timeline((START * 1000, 0, 0))  # nothing after the interval yet
    for grid in (late, None):
        s = settle_one(buyer(600, paid=12_000), grid)
        assert s["metered"] is False
        assert (s["imbalance_mminor"], s["amount_mminor"]) == (0, -12_000)


def test_minor_units_are_the_floor_of_the_exact_balance_and_lines_add_up() -> None:
    balance, lines = 0, []
    for paid in (1_999, 1_999, 1_999, 3):  # 2.0 minus a milli-minor unit each time
        s = settle_one(buyer(100, paid=paid), grid_over_interval(100, 0), balance=balance)
        balance = s["balance_mminor"]  # type: ignore[assignment]
        lines.append(s["amount_minor"])
        assert s["balance_minor"] == balance // 1000
    assert balance == -6_000
    assert lines == [-2, -2, -2, 0]  # -1.999 -> -2, -3.998 -> -4, -5.997 -> -6, -6.000 -> -6
    assert sum(lines) == balance // 1000  # type: ignore[operator]


@given(st.lists(st.integers(-50_000, 50_000), min_size=1, max_size=30))
def test_property_statement_lines_always_add_up_to_the_balance(amounts: list[int]) -> None:
    balance, total = 0, 0
    for amount in amounts:
        received, paid = max(amount, 0), max(-amount, 0)
        alloc = Allocation("h", 0, 0, 0, 0, paid, received, ())
        s = settle_one(alloc, None, balance=balance)
        balance = s["balance_mminor"]  # type: ignore[assignment]
        total += s["amount_minor"]  # type: ignore[operator]
    assert balance == sum(amounts)
    assert total == balance // 1000


# -- tokens ------------------------------------------------------------------------------------


def test_tokens_follow_the_smaller_of_delivered_and_taken_local_energy() -> None:
    seller = Allocation("s", 0, 1000, 0, 0, 0, 0, ())
    buyer_ = Allocation("b", 1000, 0, 0, 0, 0, 0, ())
    clearing = Clearing(START, END, 30, 8, (buyer_, seller))
    meters = {"s": [("sg", "grid")], "b": [("bg", "grid")]}
    timelines = {"sg": grid_over_interval(0, 850), "bg": grid_over_interval(999, 0)}
    entries = settle_interval(clearing, meters, timelines, {}, PARAMS).entries()
    kinds = [e["kind"] for e in entries]
    assert kinds == ["settlement", "settlement", "mint", "burn"]
    mint, burn = entries[2], entries[3]
    assert mint["tokens"] == burn["tokens"] == 8  # min(850, 999) Wh // 100 Wh
    assert mint["meter_kind"] == "grid" and mint["green"] is False


def test_pv_energy_mints_green_lots_first_and_the_rest_comes_from_the_grid_meter() -> None:
    seller = Allocation("s", 0, 1000, 0, 0, 0, 0, ())
    buyer_ = Allocation("b", 1000, 0, 0, 0, 0, 0, ())
    clearing = Clearing(START, END, 30, 8, (buyer_, seller))
    meters = {"s": [("pv", "pv"), ("sg", "grid")], "b": [("bg", "grid")]}
    timelines = {
        "sg": grid_over_interval(0, 1000),
        "pv": timeline((START * 1000, 0, 0), (END * 1000, 0, 640)),
        "bg": grid_over_interval(1000, 0),
    }
    entries = settle_interval(clearing, meters, timelines, {}, PARAMS).entries()
    mints = [e for e in entries if e["kind"] == "mint"]
    assert [(m["meter_kind"], m["green"], m["tokens"]) for m in mints] == [
        ("pv", True, 6),
        ("grid", False, 4),
    ]
    [burn] = [e for e in entries if e["kind"] == "burn"]
    assert burn["lots"] == [[mints[0]["lot"], 6], [mints[1]["lot"], 4]]
