"""Allocation of one quarter-hour: keys, caps, leftovers, co-owned plants, membership in time,
missing data. The numbers are small enough to check by hand (docs/community.md works one)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from hub.community.allocation import allocate, round_exact, split_by_shares
from hub.community.model import (
    CommunityError,
    Method,
    StaticLeftover,
    month_bounds,
    quarter_hours,
)
from tests.hub.community.support import community, member, plant, qh

STATIC, DYNAMIC, MARKET = Method.STATIC, Method.DYNAMIC, Method.MARKET


def vienna_qh(day: date, hour: int, minute: int) -> int:
    """The UTC start of a quarter-hour given in Vienna's winter time (UTC+1)."""
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp()) - 3600


def test_static_shares_are_capped_and_the_unused_share_goes_to_the_grid() -> None:
    lindenhof = community(STATIC, member("a"), member("b"), member("c", share=2))
    result = allocate(lindenhof, qh({"a": 100, "b": 1000, "c": 1000}, plants={}, injection={}))
    assert result.received == {"a": 0, "b": 0, "c": 0}  # no generation, nothing shared

    lindenhof = community(STATIC, member("a", injection=True), member("b"), member("c", share=2))
    result = allocate(lindenhof, qh({"a": 100, "b": 1000, "c": 1000}, injection={"a": 1000}))
    # a's key gives it 250 Wh but it uses only 100: the 150 left are surplus to the grid
    assert result.received == {"a": 100, "b": 250, "c": 500}
    assert result.remainder_wh == 150
    assert result.member_supplied == {"a": 850, "b": 0, "c": 0}


def test_static_with_redistribution_hands_a_capped_members_leftover_on_by_keys() -> None:
    lindenhof = community(
        STATIC,
        member("a", injection=True),
        member("b"),
        member("c", share=2),
        leftover=StaticLeftover.REDISTRIBUTE,
    )
    result = allocate(lindenhof, qh({"a": 100, "b": 1000, "c": 1000}, injection={"a": 1000}))
    assert result.received == {"a": 100, "b": 300, "c": 600}
    assert result.remainder_wh == 0


def test_redistribution_repeats_until_nobody_else_is_capped() -> None:
    # a is capped at 50 of its 300; handing on 250 caps b at 400 of its 450; c takes the rest.
    lindenhof = community(
        STATIC,
        member("a", injection=True),
        member("b"),
        member("c"),
        leftover=StaticLeftover.REDISTRIBUTE,
    )
    result = allocate(lindenhof, qh({"a": 50, "b": 400, "c": 5000}, injection={"a": 900}))
    assert result.received == {"a": 50, "b": 400, "c": 450}
    assert result.remainder_wh == 0


def test_redistribution_sends_to_the_grid_only_what_nobody_can_use() -> None:
    lindenhof = community(
        STATIC, member("a", injection=True), member("b"), leftover=StaticLeftover.REDISTRIBUTE
    )
    result = allocate(lindenhof, qh({"a": 100, "b": 200}, injection={"a": 1000}))
    assert result.received == {"a": 100, "b": 200}
    assert result.remainder_wh == 700


def test_dynamic_is_pro_rata_to_consumption_and_never_needs_redistribution() -> None:
    lindenhof = community(DYNAMIC, member("a", injection=True), member("b"), member("c"))
    consumption = {"a": 100, "b": 200, "c": 300}
    assert allocate(lindenhof, qh(consumption, {"a": 300})).received == {
        "a": 50,
        "b": 100,
        "c": 150,
    }
    plenty = allocate(lindenhof, qh(consumption, {"a": 1000}))
    assert plenty.received == consumption  # every member covered, the rest to the grid
    assert plenty.remainder_wh == 400


def test_rounding_gives_the_last_wh_by_largest_remainder_then_member_id() -> None:
    lindenhof = community(STATIC, member("c", injection=True), member("a"), member("b"))
    result = allocate(lindenhof, qh({"a": 1000, "b": 1000, "c": 1000}, {"c": 100}))
    assert result.received == {"a": 34, "b": 33, "c": 33}
    assert round_exact({"x": Fraction(5, 3), "y": Fraction(4, 3)}) == {"x": 2, "y": 1}


def test_a_member_joining_mid_month_takes_part_from_midnight_local_time() -> None:
    lindenhof = community(
        STATIC, member("a", injection=True), member("b"), member("c", joined=date(2028, 2, 15))
    )
    before = vienna_qh(date(2028, 2, 14), 23, 45)
    first = vienna_qh(date(2028, 2, 15), 0, 0)
    load = {"a": 1000, "b": 1000, "c": 1000}
    assert lindenhof.active_members(before) == [lindenhof.member("a"), lindenhof.member("b")]
    # keys re-normalised over the members taking part: a and b share, then all three
    assert allocate(lindenhof, qh(load, {"a": 900}, start=before)).received == {
        "a": 450,
        "b": 450,
    }
    assert allocate(lindenhof, qh(load, {"a": 900}, start=first)).received == {
        "a": 300,
        "b": 300,
        "c": 300,
    }


def test_the_leaving_date_is_exclusive() -> None:
    lindenhof = community(STATIC, member("a"), member("b", left=date(2028, 2, 20)))
    last = vienna_qh(date(2028, 2, 19), 23, 45)
    gone = vienna_qh(date(2028, 2, 20), 0, 0)
    assert [m.member_id for m in lindenhof.active_members(last)] == ["a", "b"]
    assert [m.member_id for m in lindenhof.active_members(gone)] == ["a"]
    result = allocate(lindenhof, qh({"a": 10, "b": 10}, start=gone))
    assert "b" not in result.received


def test_quarter_hours_of_a_leap_february_and_a_spring_dst_month() -> None:
    assert len(list(quarter_hours(*month_bounds(2028, 2, "Europe/Vienna")))) == 29 * 96 == 2784
    assert len(list(quarter_hours(*month_bounds(2027, 2, "Europe/Vienna")))) == 28 * 96
    assert len(list(quarter_hours(*month_bounds(2028, 3, "Europe/Vienna")))) == 31 * 96 - 4
    leap_day = vienna_qh(date(2028, 2, 29), 12, 0)
    lindenhof = community(DYNAMIC, member("a", injection=True), member("b"))
    assert allocate(lindenhof, qh({"a": 30, "b": 90}, {"a": 60}, start=leap_day)).received == {
        "a": 15,
        "b": 45,
    }


def test_a_member_without_a_consumption_value_gets_nothing_and_is_listed_missing() -> None:
    lindenhof = community(
        STATIC, member("a", injection=True), member("b", injection=True), member("c")
    )
    # b's consumption is missing: its key is re-normalised away; its injection still counts.
    result = allocate(lindenhof, qh({"a": 1000, "c": 1000}, {"a": 300, "b": 300}))
    assert result.received == {"a": 300, "c": 300}
    assert result.missing == ("consumption:b",)
    assert result.member_supplied == {"a": 300, "b": 300, "c": 0}


def test_a_missing_injection_or_plant_value_counts_as_zero_and_is_listed() -> None:
    lindenhof = community(STATIC, member("a", injection=True), member("b"), plants=(plant("p"),))
    result = allocate(lindenhof, qh({"a": 100, "b": 100}))
    assert result.shared_wh == 0
    assert result.missing == ("injection:a", "plant:p")


def test_co_owners_shares_are_static_keys_for_their_plants_output() -> None:
    roof = plant("roof", owners={"a": Fraction(1, 2), "b": Fraction(1, 4), "c": Fraction(1, 4)})
    lindenhof = community(
        DYNAMIC, member("a"), member("b"), member("c"), member("d"), plants=(roof,)
    )
    result = allocate(
        lindenhof, qh({"a": 300, "b": 1000, "c": 250, "d": 500}, plants={"roof": 1000})
    )
    # stage 1: a 500 capped at 300, b 250, c 250; the 200 a cannot use join the pool
    assert result.from_plants == {("roof", "a"): 300, ("roof", "b"): 250, ("roof", "c"): 250}
    # stage 2 (dynamic): 200 Wh pro rata to what b (750) and d (500) still consume
    assert result.received == {"a": 300, "b": 370, "c": 250, "d": 80}
    assert result.plant_supplied == {"roof": 1000}
    assert result.remainder_wh == 0


def test_market_allocates_only_the_co_owned_stage_and_leaves_the_pool_to_the_auction() -> None:
    roof = plant("roof", owners={"a": Fraction(1)})
    lindenhof = community(MARKET, member("a"), member("b", injection=True), plants=(roof,))
    result = allocate(lindenhof, qh({"a": 100, "b": 100}, {"b": 50}, plants={"roof": 400}))
    assert result.received == {"a": 100, "b": 0}
    assert result.remainder_wh == 350


def test_plant_revenue_is_split_by_share_and_adds_up() -> None:
    thirds = {"a": Fraction(1, 3), "b": Fraction(1, 3), "c": Fraction(1, 3)}
    assert split_by_shares(100_000, thirds) == {"a": 33_334, "b": 33_333, "c": 33_333}
    assert sum(split_by_shares(-7, thirds).values()) == -7


def test_ownership_shares_must_sum_to_exactly_one() -> None:
    with pytest.raises(CommunityError, match=r"plant roof: ownership shares sum to 9/10"):
        community(
            STATIC,
            member("a"),
            member("b"),
            plants=(plant("roof", {"a": Fraction(1, 2), "b": Fraction(2, 5)}),),
        )
    with pytest.raises(CommunityError, match="owner 'z' is not a member"):
        community(STATIC, member("a"), plants=(plant("roof", {"z": Fraction(1)}),))


def test_configuration_mistakes_are_named() -> None:
    with pytest.raises(CommunityError, match="duplicate member id 'a'"):
        community(STATIC, member("a"), member("a"))
    with pytest.raises(CommunityError, match=r"left .* must be after joined"):
        community(STATIC, member("a", left=date(2028, 1, 1)))
    with pytest.raises(CommunityError, match="metering point AT-p is used by both"):
        community(STATIC, member("p"), plants=(plant("p"),))
    with pytest.raises(CommunityError, match="share must not be negative"):
        community(STATIC, member("a", share=-1))


def test_the_worked_example_in_the_docs() -> None:
    """docs/community.md#worked-example-one-quarter-hour, number for number."""
    roof = plant("roof", {"anna": Fraction(1, 2), "ben": Fraction(1, 4), "cem": Fraction(1, 4)})
    members = (member("anna"), member("ben"), member("cem", 2), member("dora", injection=True))
    leap_noon = vienna_qh(date(2028, 2, 29), 12, 0)
    data = qh(
        {"anna": 400, "ben": 150, "cem": 900, "dora": 100},
        {"dora": 300},
        {"roof": 1200},
        start=leap_noon,
    )
    static = allocate(community(STATIC, *members, plants=(roof,)), data)
    assert static.from_plants == {("roof", "anna"): 400, ("roof", "ben"): 150, ("roof", "cem"): 300}
    assert static.received == {"anna": 400, "ben": 150, "cem": 560, "dora": 100}
    assert (static.plant_supplied, static.member_supplied["dora"]) == ({"roof": 1044}, 166)
    assert static.remainder_wh == 290
    redistributed = allocate(
        community(STATIC, *members, plants=(roof,), leftover=StaticLeftover.REDISTRIBUTE), data
    )
    assert redistributed.received["cem"] == 850
    assert redistributed.remainder_wh == 0
    dynamic = allocate(community(DYNAMIC, *members, plants=(roof,)), data)
    assert (dynamic.received["cem"], dynamic.received["dora"]) == (857, 93)
