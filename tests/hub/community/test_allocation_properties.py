"""Properties of the allocation against an independent float model.

The reference below is written the straightforward way, as an EEG's spreadsheet would do it:
floats, and redistribution as a loop (hand the excess of capped members on, again and again)
rather than the production code's exact water-filling. The integer allocation must stay within
rounding of it."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.community.allocation import QuarterHourAllocation, QuarterHourInput, allocate
from hub.community.model import Community, Method, StaticLeftover
from tests.hub.community.support import NOON, community, member, plant

IDS = ["a", "b", "c", "d", "e"]
wh = st.integers(min_value=0, max_value=5000)


def reference(lindenhof: Community, qh: QuarterHourInput) -> dict[str, float]:
    """Float pool stage for communities without co-owned plants."""
    caps = {m: float(c) for m, c in qh.consumption.items()}
    pool = float(sum(qh.injection.values()) + sum(qh.plant_output.values()))
    if lindenhof.method is Method.MARKET:
        return dict.fromkeys(caps, 0.0)
    if lindenhof.method is Method.DYNAMIC:
        total = sum(caps.values())
        return {m: c * min(1.0, pool / total) if total else 0.0 for m, c in caps.items()}
    keys = {m.member_id: float(m.share) for m in lindenhof.members if m.member_id in caps}
    got = dict.fromkeys(caps, 0.0)
    open_ = {m for m in caps if keys[m] > 0}
    while pool > 1e-9 and open_:
        weight = sum(keys[m] for m in open_)
        excess = 0.0
        for m in sorted(open_):
            offer = pool * keys[m] / weight
            take = min(offer, caps[m] - got[m])
            got[m] += take
            excess += offer - take
        if lindenhof.static_leftover is StaticLeftover.GRID:
            break
        open_ = {m for m in open_ if caps[m] - got[m] > 1e-9}
        pool = excess
    return got


@st.composite
def cases(draw: st.DrawFn, co_owned: bool) -> tuple[Community, QuarterHourInput]:
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True))
    shares = {i: draw(st.integers(0, 5)) for i in ids}
    members = [member(i, shares[i], injection=True) for i in ids]
    plants = [plant("pv1")]
    if co_owned:
        owners = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        weights = [draw(st.integers(1, 4)) for _ in owners]
        plants.append(
            plant(
                "roof", {o: Fraction(w, sum(weights)) for o, w in zip(owners, weights, strict=True)}
            )
        )
    method = draw(st.sampled_from(list(Method)))
    leftover = draw(st.sampled_from(list(StaticLeftover)))
    lindenhof = community(method, *members, plants=tuple(plants), leftover=leftover)
    metered = draw(st.lists(st.sampled_from(ids), unique=True))  # the others have no value
    qh = QuarterHourInput(
        NOON,
        {i: draw(wh) for i in metered},
        {i: draw(wh) for i in ids if draw(st.booleans())},
        {p.plant_id: draw(wh) for p in plants},
    )
    return lindenhof, qh


def check_invariants(qh: QuarterHourInput, result: QuarterHourAllocation) -> None:
    shared = sum(qh.injection.values()) + sum(qh.plant_output.values())
    assert result.shared_wh == shared
    assert result.allocated_wh + result.remainder_wh == shared
    assert result.remainder_wh >= 0
    assert set(result.received) == set(qh.consumption)
    for member_id, got in result.received.items():
        assert 0 <= got <= qh.consumption[member_id]
    assert sum(result.member_supplied.values()) + sum(result.plant_supplied.values()) == (
        result.allocated_wh
    )
    for member_id, given_wh in result.member_supplied.items():
        assert 0 <= given_wh <= qh.injection.get(member_id, 0)
    for plant_id, supplied in result.plant_supplied.items():
        assert 0 <= supplied <= qh.plant_output[plant_id]


@settings(max_examples=300, deadline=None)
@given(cases(co_owned=True))
def test_energy_is_conserved_and_nobody_gets_more_than_they_consume(
    case: tuple[Community, QuarterHourInput],
) -> None:
    lindenhof, qh = case
    result = allocate(lindenhof, qh)
    check_invariants(qh, result)
    assert allocate(lindenhof, qh) == result  # deterministic


@settings(max_examples=300, deadline=None)
@given(cases(co_owned=False))
def test_each_member_is_within_rounding_of_the_float_model(
    case: tuple[Community, QuarterHourInput],
) -> None:
    lindenhof, qh = case
    result = allocate(lindenhof, qh)
    expected = reference(lindenhof, qh)
    for member_id, got in result.received.items():
        assert abs(got - expected[member_id]) < 1 + 1e-6, (member_id, got, expected)
    assert abs(result.allocated_wh - sum(expected.values())) < 1 + 1e-6


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=5),
    st.integers(0, 10_000),
)
def test_static_is_proportional_to_the_keys_where_no_cap_binds(keys: list[int], pool: int) -> None:
    ids = IDS[: len(keys)]
    lindenhof = community(
        Method.STATIC,
        *(member(i, k) for i, k in zip(ids, keys, strict=True)),
        plants=(plant("pv"),),
    )
    big = dict.fromkeys(ids, 10_000)
    result = allocate(lindenhof, QuarterHourInput(NOON, big, {}, {"pv": pool}))
    for member_id, key in zip(ids, keys, strict=True):
        assert abs(result.received[member_id] - pool * key / sum(keys)) < 1
    assert result.remainder_wh == 0
