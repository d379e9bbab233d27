"""Monthly statements: community energy paid for and paid out, plant income by share, grid fees
by period, the organiser's fee; every line within a cent of its exact amount and the whole
community balanced to the cent."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.community.allocation import QuarterHourInput, allocate
from hub.community.model import Community, Method
from hub.community.statements import FeePeriod, Prices, monthly_statement
from tests.hub.community.support import NOON, community, member, plant
from tests.hub.community.test_allocation import vienna_qh

PRICES = Prices(
    community_price=Fraction(10),
    grid_fees=(FeePeriod(date(2028, 1, 1), Fraction(5, 2)),),
    organiser_fee=150,
)


def worked_example() -> tuple[Community, QuarterHourInput]:
    roof = plant("roof", {"anna": Fraction(1, 2), "ben": Fraction(1, 4), "cem": Fraction(1, 4)})
    members = (member("anna"), member("ben"), member("cem", 2), member("dora", injection=True))
    data = QuarterHourInput(
        vienna_qh(date(2028, 2, 29), 12, 0),
        {"anna": 400, "ben": 150, "cem": 900, "dora": 100},
        {"dora": 300},
        {"roof": 1200},
    )
    return community(Method.STATIC, *members, plants=(roof,)), data


def test_the_worked_quarter_hour_in_cents() -> None:
    lindenhof, data = worked_example()
    statement = monthly_statement(lindenhof, PRICES, [(data, allocate(lindenhof, data))])
    by_id = {m.member_id: m for m in statement.members}
    # 10 ct/kWh: anna 4.0, ben 1.5, cem 5.6, dora 1.0 = 12.1 ct -> 12 ct, the extra cent to cem
    assert {k: m.energy_cost for k, m in by_id.items()} == {
        "anna": 4,
        "ben": 1,
        "cem": 6,
        "dora": 1,
    }
    # paid out: dora 1.66 for her surplus; the roof's 10.44 by share: 5.22, 2.61, 2.61
    assert {k: (m.energy_income, m.plant_income) for k, m in by_id.items()} == {
        "anna": (0, 5),
        "ben": (0, 3),
        "cem": (0, 2),
        "dora": (2, 0),
    }
    # 2.5 ct/kWh on shared energy: 1.0, 0.375, 1.4, 0.25 = 3.025 -> 3 ct
    assert {k: m.grid_fees for k, m in by_id.items()} == {"anna": 1, "ben": 0, "cem": 2, "dora": 0}
    assert by_id["anna"].plant_wh == {"roof": 522}
    assert (statement.dso_fees, statement.organiser_fees, statement.community_account) == (
        3,
        600,
        0,
    )
    assert statement.balance_problems() == []


def test_grid_fees_follow_their_period_and_a_co_owner_who_left_keeps_its_income_share() -> None:
    prices = Prices(
        Fraction(0),
        (FeePeriod(date(2028, 2, 1), Fraction(1)), FeePeriod(date(2028, 2, 15), Fraction(3))),
        organiser_fee=100,
    )
    roof = plant("roof", {"a": Fraction(1, 2), "b": Fraction(1, 2)})
    lindenhof = community(
        Method.DYNAMIC, member("a"), member("b", left=date(2028, 2, 10)), plants=(roof,)
    )
    early, late = vienna_qh(date(2028, 2, 14), 12, 0), vienna_qh(date(2028, 2, 15), 12, 0)
    data = [QuarterHourInput(t, {"a": 1000}, {}, {"roof": 1000}) for t in (early, late)]
    statement = monthly_statement(lindenhof, prices, [(q, allocate(lindenhof, q)) for q in data])
    a, b = statement.members
    assert a.grid_fees == 1 + 3  # 1 kWh at 1 ct, then 1 kWh at 3 ct
    assert (b.member_id, b.organiser_fee, a.organiser_fee) == ("b", 0, 100)
    # the roof's output went to a alone (b had left), but b still owns half of what it sold
    assert (a.received_wh, a.plant_wh, b.plant_wh) == (2000, {"roof": 1000}, {"roof": 1000})
    assert statement.balance_problems() == []


def test_a_community_owned_plants_income_goes_to_the_community_account() -> None:
    lindenhof = community(Method.STATIC, member("a"), plants=(plant("pv"),))
    data = QuarterHourInput(NOON, {"a": 700}, {}, {"pv": 1000})
    statement = monthly_statement(lindenhof, PRICES, [(data, allocate(lindenhof, data))])
    assert (statement.members[0].energy_cost, statement.community_account) == (7, 7)


@st.composite
def months(draw: st.DrawFn) -> tuple[Community, list[QuarterHourInput], Prices]:
    ids = draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=5, unique=True))
    owners = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
    plants = (plant("pv"), plant("roof", {o: Fraction(1, len(owners)) for o in owners}))
    members = [member(i, draw(st.integers(0, 3)), injection=True) for i in ids]
    lindenhof = community(draw(st.sampled_from(list(Method))), *members, plants=plants)
    wh = st.integers(0, 3000)
    quarter_hours = [
        QuarterHourInput(
            NOON + 900 * n,
            {i: draw(wh) for i in ids},
            {i: draw(wh) for i in ids},
            {"pv": draw(wh), "roof": draw(wh)},
        )
        for n in range(draw(st.integers(1, 6)))
    ]
    price = Fraction(draw(st.integers(0, 5000)), draw(st.sampled_from([1, 10, 100, 1000])))
    fee = Fraction(draw(st.integers(0, 999)), 100)
    return lindenhof, quarter_hours, Prices(price, (FeePeriod(date(2028, 1, 1), fee),), 99)


@settings(max_examples=200, deadline=None)
@given(months())
def test_statements_balance_to_the_cent_and_each_line_is_within_a_cent(
    case: tuple[Community, list[QuarterHourInput], Prices],
) -> None:
    lindenhof, quarter_hours, prices = case
    results = [(q, allocate(lindenhof, q)) for q in quarter_hours]
    statement = monthly_statement(lindenhof, prices, results)
    assert statement.balance_problems() == []
    for line in statement.members:
        received = sum(r.received.get(line.member_id, 0) for _, r in results)
        exact = received * prices.community_price / 1000
        assert abs(line.energy_cost - exact) < 1
        assert line.received_wh == received
        assert line.grid_wh == line.consumption_wh - line.received_wh
