"""The home <-> market loop against one model: plan -> bid -> clearing -> dispatch -> device.

Random homes (battery, EV, flexible loads, PV), random neighbours and random prices go through
the real code of every seam: the planner's bid, the hub's clearing and record building (the
dispatch each home is sent) and the home's own guard (clamp_command). What a person would check
is asserted: the battery's and the EV's power, a load's switch, and the money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from gridcoop_home.planner import EV, Battery, DeferrableLoad, Plan, PlanRequest, Tariffs, plan
from gridcoop_home.planner.evaluate import Allocated, first_slot_cost
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.dispatch import (
    DispatchCommand,
    GridPrices,
    PowerLimits,
    clamp_command,
    device_energies,
)
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from hub.config import HubConfig
from hub.market import MarketRules, clear_uniform_price
from hub.service.clearing import build_records, order_of
from hub.store.records import AllocationRecord, StoredBid
from tests.home.planner.factory import START, request

QUARTER = 900
RATIONED_LOAD_WH = [0]  # the last clearing's load steps filled in part (the marginal bid)
INTERVAL = int(START.timestamp())
HOME = "home"
RATING_SLACK_WH = 1  # energies are whole Wh


@dataclass(frozen=True)
class Scenario:
    request: PlanRequest
    retail: int
    feed_in: int
    neighbours: tuple[BidCurves, ...]


@st.composite
def batteries(draw: st.DrawFn) -> Battery:
    capacity = draw(st.integers(4, 15)) * 1000
    return Battery(
        capacity_wh=capacity,
        max_charge_w=draw(st.integers(2, 5)) * 1000,
        max_discharge_w=draw(st.integers(2, 5)) * 1000,
        soc_wh=capacity * draw(st.integers(0, 100)) / 100,
        reserve_wh=capacity * draw(st.integers(0, 20)) / 100,
        degradation_cost=draw(st.integers(0, 4)),
    )


@st.composite
def evs(draw: st.DrawFn) -> EV:
    soc = draw(st.integers(10, 40)) * 1000
    return EV(
        capacity_wh=60_000,
        soc_wh=soc,
        target_wh=soc + draw(st.integers(1, 12)) * 1000,
        departure=START + timedelta(hours=draw(st.integers(1, 6))),
        max_charge_w=draw(st.sampled_from([3_700, 7_400, 11_000])),
    )


@st.composite
def loads(draw: st.DrawFn) -> tuple[DeferrableLoad, ...]:
    count = draw(st.integers(0, 2))
    return tuple(
        DeferrableLoad(
            id=f"load{i}",
            power_w=draw(st.integers(5, 25)) * 100,
            duration_min=draw(st.sampled_from([15, 30, 60])),
            earliest_start=START,
            latest_finish=START + timedelta(hours=draw(st.integers(2, 4))),
            discomfort_per_hour=draw(st.integers(0, 30)),
            interruptible=draw(st.booleans()),
        )
        for i in range(count)
    )


@st.composite
def neighbours(draw: st.DrawFn, feed_in: int, retail: int) -> tuple[BidCurves, ...]:
    prices = st.integers(feed_in, retail)
    bids = []
    for _ in range(draw(st.integers(1, 4))):
        step = BidStep(draw(prices), draw(st.integers(100, 4_000)))
        bids.append(BidCurves((step,), ()) if draw(st.booleans()) else BidCurves((), (step,)))
    return tuple(bids)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    retail, feed_in = draw(st.integers(25, 40)), draw(st.integers(2, 10))
    hours = draw(st.integers(2, 4))
    forecast = [float(draw(st.integers(feed_in, retail))) for _ in range(hours)]
    home = request(
        forecast,
        tariffs=Tariffs(retail=[float(retail)] * hours * 4, feed_in=[float(feed_in)] * hours * 4),
        pv_forecast_w=[float(draw(st.sampled_from([0, 1_500, 5_000])))] * hours * 4,
        base_load_forecast_w=[float(draw(st.integers(2, 8)) * 100)] * hours * 4,
        battery=draw(st.one_of(st.none(), batteries())),
        ev=draw(st.one_of(st.none(), evs())),
        loads=draw(loads()),
    )
    return Scenario(home, retail, feed_in, draw(neighbours(feed_in, retail)))


def stored(home_id: str, bids: BidCurves) -> StoredBid:
    body = {"interval_start": INTERVAL, **bids.to_wire()}
    return StoredBid(home_id, INTERVAL, "key", 1, 0, body, "digest", "sig", 0)


def clear(
    scenario: Scenario, bids: BidCurves, interval_seconds: int = QUARTER
) -> tuple[int | None, AllocationRecord]:
    """The hub's own path: stored bids -> orders -> clearing -> records with dispatch."""
    homes = {HOME: bids, **{f"n{i}": n for i, n in enumerate(scenario.neighbours)}}
    rules = MarketRules(retail_price=scenario.retail, feed_in_price=scenario.feed_in)
    result = clear_uniform_price([order_of(h, b) for h, b in homes.items()], rules)
    stored_bids = [stored(h, b) for h, b in homes.items()]
    config = HubConfig(interval_seconds=interval_seconds, allow_short_intervals=True)
    _, records = build_records(config, INTERVAL, stored_bids, result, rules, 0)
    (record,) = [r for r in records if r.home_id == HOME]
    (mine,) = [a for a in result.allocations if a.home_id == HOME]
    RATIONED_LOAD_WH[0] = rationed_load_wh(
        bids,
        [f.local_wh + f.grid_wh for f in mine.buy_fills],
        [f.local_wh + f.grid_wh for f in mine.sell_fills],
    )
    return result.price, record


def rationed_load_wh(bids: BidCurves, bought: list[int], sold: list[int]) -> int:
    """The energy of the loads the fills left between running and not (a marginal step filled
    in part): each decides on its whole-cent price, within half a unit per kWh of its value."""
    total = 0
    for device in {s.asset for s in (*bids.buy, *bids.sell) if s.asset.startswith("load:")}:
        buy = [
            (s.energy_wh, got) for s, got in zip(bids.buy, bought, strict=True) if s.asset == device
        ]
        sell = [
            (s.energy_wh, got) for s, got in zip(bids.sell, sold, strict=True) if s.asset == device
        ]
        to_buy, to_sell = sum(wh for wh, _ in buy), sum(wh for wh, _ in sell)
        got, gone = sum(g for _, g in buy), sum(g for _, g in sell)
        if (got, gone) not in ((to_buy, 0), (0, to_sell)):
            total += to_buy + to_sell
    return total


def commands_of(record: AllocationRecord) -> list[DispatchCommand]:
    return list(record.dispatch)


def _load_bid_price(bids: BidCurves, device: str) -> int | None:
    """The price at which the load switches in the bid: its buy step (start at or below) or its
    sell step less one (stop above)."""
    for step in bids.buy:
        if step.asset == device:
            return step.price
    for step in bids.sell:
        if step.asset == device:
            return step.price - 1
    return None


def limits_of(req: PlanRequest, device: str) -> PowerLimits:
    if device == "battery" and req.battery is not None:
        b = req.battery
        return PowerLimits(
            max_charge_w=b.max_charge_w,
            max_discharge_w=b.max_discharge_w,
            can_charge=b.soc_wh < b.capacity_wh,
            can_discharge=b.soc_wh > 0,
        )
    if device == "ev" and req.ev is not None:
        return PowerLimits(max_charge_w=req.ev.max_charge_w)
    return PowerLimits()


def plan_energies(result: Plan) -> dict[str, float]:
    s = result.schedule
    energies = {f"load:{k}": v[0] / 4 for k, v in s.loads_w.items()}
    energies["battery"] = (s.battery_charge_w[0] - s.battery_discharge_w[0]) / 4
    energies["ev"] = s.ev_charge_w[0] / 4
    return energies


def bid_bounds(bids: BidCurves, device: str, price: int, grid: GridPrices) -> tuple[int, int]:
    """A device's energy if its steps at exactly `price` filled not at all / wholly (a load with
    steps on both sides, left between running and not, decides with the grid prices)."""

    def at(buy_from: int, sell_to: int) -> int:
        energies = device_energies(
            bids,
            [s.energy_wh if s.price >= buy_from else 0 for s in bids.buy],
            [s.energy_wh if s.price <= sell_to else 0 for s in bids.sell],
            grid,
        )
        return energies[device].energy_wh if device in energies else 0

    return at(price + 1, price), at(price, price - 1)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenario=scenarios())
def test_the_dispatch_follows_the_home_s_own_bid_within_every_rating(scenario: Scenario) -> None:
    result = plan(scenario.request)
    assert result.bids is not None
    assume(result.bids.buy or result.bids.sell)
    check_the_loop(scenario, result)


def test_an_ev_that_needs_a_few_wh_now_is_not_paused_by_a_cheap_neighbour() -> None:
    # Found by the property above: 10 -> 15 kWh by +1 h on 7.4 kW x 90 % leaves 6 Wh that must
    # come now. Averaged over the slot's 1,850 Wh they were bid at 4 c/kWh; a neighbour's 100 Wh
    # at 2 c/kWh cleared at 14, the EV paused and missed its target (18.96 against the plan's
    # 14.11). Bid at retail, they are bought whatever the price.
    ev = EV(
        capacity_wh=60_000,
        soc_wh=10_000,
        target_wh=15_000,
        departure=START + timedelta(hours=1),
        max_charge_w=7_400,
        charge_efficiency=0.9,
    )
    req = request(
        [2.0, 2.0],
        tariffs=Tariffs(retail=[25.0] * 8, feed_in=[2.0] * 8),
        base_load_forecast_w=[400.0] * 8,
        ev=ev,
    )
    seller = BidCurves((), (BidStep(2, 100),))
    scenario = Scenario(req, 25, 2, (seller,))
    result = plan(req)

    dispatch = check_the_loop(scenario, result)

    assert (dispatch["ev"].action, dispatch["ev"].energy_wh) == ("charge", 6)


def test_two_deferred_loads_are_never_cut_between_a_buy_and_a_sell_step() -> None:
    # Found by the property above: 325 Wh of PV surplus, a 325 Wh and a 125 Wh load deferred at
    # the expected 3 c/kWh and both worth running below it. The bid buys 125 Wh at 2 and sells
    # 325 Wh at 3; cutting the 325 Wh load into 125 + 200 across them ran it on 200 Wh when the
    # buy step was rationed at 2 (and paid retail for the rest).
    loads = tuple(
        DeferrableLoad(
            id=f"load{i}",
            power_w=power,
            duration_min=15,
            earliest_start=START,
            latest_finish=START + timedelta(hours=2),
        )
        for i, power in enumerate((1_300, 500))
    )
    req = request(
        [3.0, 3.0],
        tariffs=Tariffs(retail=[25.0] * 8, feed_in=[2.0] * 8),
        pv_forecast_w=[1_500.0] * 8,
        base_load_forecast_w=[200.0] * 8,
        loads=loads,
    )
    seller = BidCurves((), (BidStep(2, 100),))
    result = plan(req)
    assert result.bids is not None

    dispatch = check_the_loop(Scenario(req, 25, 2, (seller,)), result)

    for device, whole in (("load:load0", 325), ("load:load1", 125)):
        assert dispatch[device].energy_wh in (0, whole), dispatch[device]


def test_a_load_cut_between_a_buy_and_a_sell_step_runs_whole_or_not_at_all() -> None:
    # Found by the property above: the 650 Wh load (325 Wh now) straddles the home's curve on its
    # own (buy 125 Wh at 2, sell 200 Wh at 3) and cannot be kept whole on one side. Rationed at 2
    # (100 of its 125 Wh), its buy step was refused and it still started on its 200 Wh baseline;
    # now the load decides as one: running would buy 25 Wh at retail and forgo 300 Wh of feed-in.
    loads = tuple(
        DeferrableLoad(
            id=f"load{i}",
            power_w=power,
            duration_min=minutes,
            earliest_start=START,
            latest_finish=START + timedelta(hours=2),
        )
        for i, (power, minutes) in enumerate(((1_300, 30), (500, 15)))
    )
    req = request(
        [3.0, 3.0],
        tariffs=Tariffs(retail=[25.0] * 8, feed_in=[2.0] * 8),
        pv_forecast_w=[1_500.0] * 8,
        base_load_forecast_w=[200.0] * 8,
        loads=loads,
    )
    result = plan(req)
    assert result.bids is not None
    sides = [s.asset for s in (*result.bids.buy, *result.bids.sell)]
    assert sides.count("load:load0") == 2  # the case: one load on both sides

    dispatch = check_the_loop(Scenario(req, 25, 2, (BidCurves((), (BidStep(2, 100),)),)), result)

    assert dispatch["load:load0"].energy_wh in (0, 325), dispatch["load:load0"]


def check_the_loop(scenario: Scenario, result: Plan) -> dict[str, DispatchCommand]:
    """Clear the plan's bid with the neighbours and check what a person would; the commands."""
    req = scenario.request
    bids = result.bids
    assert bids is not None
    price, record = clear(scenario, bids)
    if currently_in_test_context():  # hypothesis prints these with a failing example
        note(f"request={req!r}")
        note(f"neighbours={scenario.neighbours!r}")
        note(f"retail={scenario.retail} feed_in={scenario.feed_in}")
        note(f"bids={bids!r} price={price} dispatch={record.dispatch!r}")
        note(f"plan={plan_energies(result)!r} discomfort={result.discomfort!r}")
    sent = {c.device: c for c in commands_of(record)}
    done = {d: clamp_command(c, limits_of(req, d)) for d, c in sent.items()}

    # 1. The hub never asks beyond a rating, the state of charge or the connection.
    if (b := req.battery) is not None and "battery" in sent:
        battery = sent["battery"]
        assert battery.power_w <= max(b.max_charge_w, b.max_discharge_w) + 4 * RATING_SLACK_WH
        if battery.action == "charge":
            room = (b.capacity_wh - b.soc_wh) / 0.95
            assert battery.energy_wh <= room + RATING_SLACK_WH
        if battery.action == "discharge":
            assert battery.energy_wh <= b.soc_wh * 0.95 + RATING_SLACK_WH
    if (ev := req.ev) is not None and "ev" in sent:
        assert sent["ev"].power_w <= ev.max_charge_w + 4 * RATING_SLACK_WH
    bought = record.bought_local_wh + record.bought_grid_wh
    planned_import = result.schedule.grid_import_w[0] / 4
    assert bought <= max(req.site.grid_limit_w / 4, planned_import) + RATING_SLACK_WH

    # 2. It moves each device the way the home's own curve says at the cleared price.
    if price is not None:
        for device, command in sent.items():
            if device in ("battery", "ev"):
                grid = GridPrices(scenario.retail, scenario.feed_in)
                least, most = bid_bounds(bids, device, price, grid)
                assert least - 1 <= command.signed_power_w // 4 <= most + 1, (device, price)

    # 3. A load starts below its discomfort price and is deferred only above it. Its bid
    # carries the price rounded to a whole cent (one cent lower or higher only where the plan
    # was indifferent at the expected price); at exactly that price it is the marginal bid and
    # follows the rationing rule (gridcoop_home.protocol.dispatch).
    if price is not None:
        for d in result.discomfort:
            if d.price is None:
                continue
            device = f"load:{d.load_id}"
            started = device in done and done[device].action == "start"
            bid_price = _load_bid_price(bids, device)
            if bid_price is not None:  # above retail the grid serves it: capped there
                rounded = min(math.floor(d.price), scenario.retail)
                assert rounded - 1 <= bid_price <= rounded + 1
            if price < math.floor(d.price - 1e-6) - 1 or (bid_price and price < bid_price):
                assert started, (d, price)
            if price > d.price + 1 and price < scenario.retail:
                assert not started, (d, price)

    # 4. Following the dispatch at the cleared price never costs the home more than following
    # its own plan at that price (its money, wear and comfort, as the planner counts them), for
    # the energy the market gave it: what a plan buys or sells beyond that is settled with the
    # grid (a step at the marginal price may be rationed).
    if price is not None:
        # Every device's first slot is pinned in both: a device the dispatch does not name does
        # nothing; the plan at the wire's resolution (whole Wh, as its bid offers it).
        planned = {d: round(e) for d, e in plan_energies(result).items()}
        dispatched = {d: float(done[d].signed_power_w) / 4 if d in done else 0.0 for d in planned}
        given = Allocated(
            record.bought_local_wh
            + record.bought_grid_wh
            - record.sold_local_wh
            - record.sold_grid_wh,
            scenario.retail,
            scenario.feed_in,
        )
        cost_dispatch = first_slot_cost(req, dispatched, price, given)
        cost_plan = first_slot_cost(req, planned, price, given)
        # Prices are whole minor units: a rationed load decides on its step price +- half a
        # unit (gridcoop_home.protocol.dispatch), at most that much per kWh from its own value.
        rounding = 0.5 * RATIONED_LOAD_WH[0] / 1000
        assert cost_dispatch <= cost_plan + 0.05 + rounding + 1e-6 * abs(cost_plan), (
            cost_dispatch,
            cost_plan,
        )
    return done


def test_the_field_report_battery_charges_at_its_rating_when_neighbours_sell_cheap() -> None:
    # Three neighbours sell at 12-16 c/kWh; the plan expected 25 and discharges into the house.
    bids = BidCurves(
        buy=(BidStep(21, 412, "battery"), BidStep(15, 1_250, "battery")),
        sell=(),
        baseline={"battery": -412},
    )
    sellers = tuple(BidCurves((), (BidStep(price, 3_000),)) for price in (12, 14, 16))
    scenario = Scenario(request([25.0]), 30, 8, sellers)

    price, record = clear(scenario, bids)

    assert price is not None and price <= 15
    (battery,) = commands_of(record)
    assert (battery.action, battery.power_w) == ("charge", 5_000)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenario=scenarios(), interval_seconds=st.sampled_from([300, 30]))
def test_a_shorter_market_interval_keeps_every_device_within_its_rating(
    scenario: Scenario, interval_seconds: int
) -> None:
    # The plan is in 15-minute slots; the bid is scaled to the market's interval. Whole Wh over
    # 30 s are 120 W steps: what reaches a device is the command after the home's guard.
    req = scenario.request
    result = plan(req)
    assert result.bids is not None
    bids = result.bids.scaled(interval_seconds / QUARTER)
    assume(bids.buy or bids.sell)
    price, record = clear(scenario, bids, interval_seconds)
    for command in commands_of(record):
        done = clamp_command(command, limits_of(req, command.device))
        if command.device == "battery" and (b := req.battery) is not None:
            assert done.power_w <= max(b.max_charge_w, b.max_discharge_w)
        if command.device == "ev" and (ev := req.ev) is not None:
            assert done.power_w <= ev.max_charge_w
        if price is not None and command.device in ("battery", "ev"):
            grid = GridPrices(scenario.retail, scenario.feed_in)
            least, most = bid_bounds(bids, command.device, price, grid)
            assert least <= command.signed_power_w * interval_seconds // 3600 + 1
            assert command.signed_power_w * interval_seconds // 3600 <= most + 1
