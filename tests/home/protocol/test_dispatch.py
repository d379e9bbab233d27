"""The dispatch contract: a device's energy is its baseline plus its filled buy energy minus its
filled sell energy; the command carries that energy out."""

from __future__ import annotations

import pytest
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.dispatch import (
    DispatchCommand,
    GridPrices,
    PowerLimits,
    clamp_command,
    derive_commands,
    device_energies,
    energy_range_at,
    plan_commands,
)
from hypothesis import given, settings
from hypothesis import strategies as st

QUARTER = 900  # seconds in a 15-minute interval


def curves(
    buy: list[BidStep] | None = None,
    sell: list[BidStep] | None = None,
    baseline: dict[str, int] | None = None,
) -> BidCurves:
    return BidCurves(buy=tuple(buy or ()), sell=tuple(sell or ()), baseline=baseline or {})


def only(commands: list[DispatchCommand]) -> DispatchCommand:
    assert len(commands) == 1, commands
    return commands[0]


def action(command: DispatchCommand) -> tuple[str, str, int, int]:
    return (command.device, command.action, command.power_w, command.energy_wh)


def test_a_battery_that_discharges_into_the_house_and_buys_when_cheap_charges_the_difference() -> (
    None
):
    # Baseline: discharging 412 Wh into the house. Below 22 it stops (+412), below 15 it charges
    # at its full 1250 Wh (+1250). Both filled: it charges 1250 Wh, within its 5 kW rating.
    bid = curves(
        buy=[BidStep(21, 412, "battery"), BidStep(15, 1_250, "battery")],
        baseline={"battery": -412},
    )

    assert action(only(derive_commands(bid, [412, 1_250], [], QUARTER))) == (
        "battery",
        "charge",
        5_000,
        1_250,
    )
    assert action(only(derive_commands(bid, [412, 0], [], QUARTER))) == ("battery", "idle", 0, 0)
    assert action(only(derive_commands(bid, [0, 0], [], QUARTER))) == (
        "battery",
        "discharge",
        1_648,
        412,
    )


def test_a_battery_whose_sell_step_filled_discharges_at_the_average_power() -> None:
    bid = curves(sell=[BidStep(20, 500, "battery")])

    command = only(derive_commands(bid, [], [500], QUARTER))

    assert action(command) == ("battery", "discharge", 2_000, 500)


def test_a_battery_charging_by_plan_that_sells_instead_discharges_less_than_its_sale() -> None:
    # Baseline: charging 300 Wh from PV. A sell step "stop charging and sell" of 300 Wh, then a
    # further 500 Wh discharge: both filled, the battery discharges 500 Wh.
    bid = curves(
        sell=[BidStep(20, 300, "battery"), BidStep(25, 500, "battery")],
        baseline={"battery": 300},
    )

    assert action(only(derive_commands(bid, [], [300, 500], QUARTER))) == (
        "battery",
        "discharge",
        2_000,
        500,
    )


def test_an_ev_partly_filled_charges_with_what_it_got() -> None:
    command = only(derive_commands(curves(buy=[BidStep(30, 1_850, "ev")]), [925], [], QUARTER))

    assert action(command) == ("ev", "charge", 3_700, 925)


def test_an_ev_priced_out_pauses() -> None:
    command = only(derive_commands(curves(buy=[BidStep(30, 1_850, "ev")]), [0], [], QUARTER))

    assert action(command) == ("ev", "pause", 0, 0)


GRID = GridPrices(retail=30, feed_in=8)


def test_a_load_starts_when_its_step_fills_and_is_deferred_when_it_does_not() -> None:
    bid = curves(buy=[BidStep(21, 500, "load:washer")])

    assert action(only(derive_commands(bid, [500], [], QUARTER, GRID))) == (
        "load:washer",
        "start",
        2_000,
        500,
    )
    assert action(only(derive_commands(bid, [0], [], QUARTER, GRID)))[1] == "defer"


@pytest.mark.parametrize(
    ("filled", "action_expected"),
    [
        # Rationed at its own price (21): starting buys the rest at retail (30), deferring hands
        # what it got back at feed-in (8): start when 8*f + 30*(1-f) <= 21.5.
        (500, "start"),
        (400, "start"),  # 8*0.8 + 30*0.2 = 12.4
        (200, "start"),  # 8*0.4 + 30*0.6 = 21.2
        (150, "defer"),  # 8*0.3 + 30*0.7 = 23.4
        (1, "defer"),
    ],
)
def test_a_rationed_load_starts_only_when_the_grid_s_part_does_not_outweigh_its_value(
    filled: int, action_expected: str
) -> None:
    bid = curves(buy=[BidStep(21, 500, "load:washer")])

    assert action(only(derive_commands(bid, [filled], [], QUARTER, GRID)))[1] == action_expected


def test_a_running_load_bid_as_a_sale_runs_unless_that_sale_fills() -> None:
    # PV surplus: the washer runs in the baseline and "stopping it to sell" is a sell step at 22.
    bid = curves(sell=[BidStep(22, 500, "load:washer")], baseline={"load:washer": 500})

    assert action(only(derive_commands(bid, [], [0], QUARTER, GRID)))[1] == "start"  # at 13
    assert action(only(derive_commands(bid, [], [500], QUARTER, GRID)))[1] == "defer"  # at 23
    # Rationed at 22: keeping it on would buy the sold part back at 30, stopping sells the
    # rest at 8. With 60 % sold: 30*0.6 + 8*0.4 = 21.2 < 21.5: it keeps running.
    assert action(only(derive_commands(bid, [], [300], QUARTER, GRID)))[1] == "start"
    assert action(only(derive_commands(bid, [], [400], QUARTER, GRID)))[1] == "defer"


def test_a_load_on_both_sides_of_the_curve_runs_whole_or_not_at_all() -> None:
    # PV surplus 200 Wh; the washer (325 Wh) runs at 2 c/kWh or below: the planner could only
    # bid it as a buy of 125 Wh at 2 and a sale ("stop") of 200 Wh at 3.
    bid = curves(
        buy=[BidStep(2, 125, "load:washer")],
        sell=[BidStep(3, 200, "load:washer")],
        baseline={"load:washer": 200},
    )
    grid = GridPrices(retail=25, feed_in=2)

    def energy(bought: int, sold: int) -> int:
        return only(derive_commands(bid, [bought], [sold], QUARTER, grid)).energy_wh

    assert energy(125, 0) == 325  # at 2 or below
    assert energy(0, 200) == 0  # at 3 or above
    # Rationed at 2 with 100 of 125 Wh: running buys 25 Wh at 25 and forgoes 300 Wh of feed-in
    # at 2 (1,225) for a value of 2.5 x 325 (812.5): it does not run, never on 200 Wh alone.
    assert energy(100, 0) == 0
    # Rationed at 3 with 10 of 200 Wh sold: running buys 125 + 10 Wh back at 25 (3,375) and
    # forgoes 190 Wh at 2 (380), against 812.5: it stops.
    assert energy(0, 10) == 0
    # Worth it when retail is close to its value: at retail 3, 100 of 125 Wh bought runs it.
    cheap = GridPrices(retail=3, feed_in=2)
    assert only(derive_commands(bid, [100], [0], QUARTER, cheap)).energy_wh == 325


def test_a_rationed_load_needs_the_grid_prices_to_decide() -> None:
    bid = curves(buy=[BidStep(21, 500, "load:washer")])

    with pytest.raises(ValueError, match="needs the grid prices"):
        derive_commands(bid, [250], [], QUARTER)


def test_pv_that_sold_everything_exports() -> None:
    command = only(derive_commands(curves(sell=[BidStep(5, 1_000, "pv")]), [], [1_000], QUARTER))

    assert action(command) == ("pv", "export", 4_000, 1_000)


@pytest.mark.parametrize(("sold", "power"), [(400, 1_600), (0, 0)])
def test_pv_that_sold_less_than_offered_is_curtailed_to_what_it_still_produces(
    sold: int, power: int
) -> None:
    command = only(derive_commands(curves(sell=[BidStep(5, 1_000, "pv")]), [], [sold], QUARTER))

    assert action(command) == ("pv", "curtail", power, sold)


def test_pv_covering_the_house_keeps_that_production_when_its_surplus_is_curtailed() -> None:
    # 400 Wh of the PV's 1400 Wh go to the house (baseline); the feeder takes only half the rest.
    bid = curves(sell=[BidStep(8, 1_000, "pv")], baseline={"pv": -400})

    command = only(derive_commands(bid, [], [500], QUARTER))

    assert action(command) == ("pv", "curtail", 3_600, 900)


def test_base_load_gets_no_command_whatever_happens() -> None:
    bid = curves(buy=[BidStep(50, 400)], sell=[BidStep(60, 100, "base")])

    assert derive_commands(bid, [400], [100], QUARTER) == []
    assert derive_commands(bid, [0], [0], QUARTER) == []


def test_a_device_with_only_a_baseline_gets_its_command() -> None:
    bid = curves(buy=[BidStep(40, 100)], baseline={"load:sauna": 1_500, "ev": 0})

    assert [action(c) for c in derive_commands(bid, [100], [], QUARTER)] == [
        ("ev", "pause", 0, 0),
        ("load:sauna", "start", 6_000, 1_500),
    ]


@pytest.mark.parametrize(
    ("energy_wh", "seconds", "power_w"),
    [(250, 900, 1_000), (1_234, 3_600, 1_234), (1, 900, 4), (1, 300, 12), (10, 60, 600)],
)
def test_power_is_energy_times_3600_over_the_interval_seconds_rounded_down(
    energy_wh: int, seconds: int, power_w: int
) -> None:
    command = only(derive_commands(curves(buy=[BidStep(1, 5_000, "ev")]), [energy_wh], [], seconds))

    assert command.power_w == power_w
    assert command.energy_wh == energy_wh


def test_commands_come_sorted_by_device() -> None:
    bid = curves(
        buy=[
            BidStep(40, 100, "load:washer"),
            BidStep(35, 100, "ev"),
            BidStep(30, 100),
            BidStep(25, 100, "battery"),
        ],
        sell=[BidStep(50, 100, "pv")],
    )

    commands = derive_commands(bid, [100, 100, 100, 0], [100], QUARTER)

    assert [(c.device, c.action) for c in commands] == [
        ("battery", "idle"),
        ("ev", "charge"),
        ("load:washer", "start"),
        ("pv", "export"),
    ]


def test_fills_must_match_the_steps_one_to_one() -> None:
    with pytest.raises(ValueError, match="zip"):
        derive_commands(curves(buy=[BidStep(1, 10, "ev")]), [5, 5], [], QUARTER)


def test_a_fill_larger_than_its_step_is_refused() -> None:
    with pytest.raises(ValueError, match="filled 11 Wh of a 10 Wh step"):
        derive_commands(curves(buy=[BidStep(1, 10, "ev")]), [11], [], QUARTER)


@settings(max_examples=300, deadline=None)
@given(
    baseline=st.integers(-2_000, 2_000),
    steps=st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 2_000), st.floats(0, 1)),
        max_size=6,
    ),
)
def test_a_battery_s_energy_is_its_baseline_plus_bought_minus_sold(
    baseline: int, steps: list[tuple[str, int, float]]
) -> None:
    buy = [BidStep(10, wh, "battery") for side, wh, _ in steps if side == "buy"]
    sell = [BidStep(30, wh, "battery") for side, wh, _ in steps if side == "sell"]
    buy_fills = [round(wh * f) for side, wh, f in steps if side == "buy"]
    sell_fills = [round(wh * f) for side, wh, f in steps if side == "sell"]
    bid = curves(buy, sell, {"battery": baseline})

    energy = device_energies(bid, buy_fills, sell_fills)["battery"].energy_wh
    command = only(derive_commands(bid, buy_fills, sell_fills, QUARTER))

    assert energy == baseline + sum(buy_fills) - sum(sell_fills)
    assert command.signed_power_w == energy * 4


def test_an_island_plan_maps_to_commands_by_the_same_rule() -> None:
    commands = plan_commands({"battery": -250, "ev": 0, "load:washer": 500}, QUARTER)

    assert [action(c) for c in commands] == [
        ("battery", "discharge", 1_000, 250),
        ("ev", "pause", 0, 0),
        ("load:washer", "start", 2_000, 500),
    ]
    assert {c.reason for c in commands} == {"plan"}


@pytest.mark.parametrize(
    ("command", "limits", "expected"),
    [
        # Over the rating: cut to it.
        (
            DispatchCommand("battery", "charge", 6_840, 1_710, "r"),
            PowerLimits(max_charge_w=5_000, max_discharge_w=5_000),
            ("battery", "charge", 5_000, 1_250),
        ),
        # The setpoint entity only goes to -3000 W.
        (
            DispatchCommand("battery", "discharge", 4_000, 1_000, "r"),
            PowerLimits(max_discharge_w=5_000, setpoint_min=-3_000, setpoint_max=3_000),
            ("battery", "discharge", 3_000, 750),
        ),
        # A full battery does not charge at all.
        (
            DispatchCommand("battery", "charge", 2_000, 500, "r"),
            PowerLimits(max_charge_w=5_000, can_charge=False),
            ("battery", "idle", 0, 0),
        ),
        # An EV charger rated 7.4 kW.
        (
            DispatchCommand("ev", "charge", 11_000, 2_750, "r"),
            PowerLimits(max_charge_w=7_400),
            ("ev", "charge", 7_400, 1_850),
        ),
        # Within every limit: unchanged.
        (
            DispatchCommand("battery", "discharge", 1_000, 250, "r"),
            PowerLimits(max_discharge_w=5_000),
            ("battery", "discharge", 1_000, 250),
        ),
    ],
)
def test_a_command_never_exceeds_the_rating_or_the_setpoint_range(
    command: DispatchCommand, limits: PowerLimits, expected: tuple[str, str, int, int]
) -> None:
    clamped = clamp_command(command, limits)

    assert action(clamped) == expected
    if clamped != command:
        assert "limited from" in clamped.reason


def test_a_command_survives_a_wire_round_trip() -> None:
    command = DispatchCommand("battery", "discharge", 2_000, 500, "sell step filled")

    assert command.to_wire() == {
        "device": "battery",
        "action": "discharge",
        "power_w": 2_000,
        "energy_wh": 500,
        "reason": "sell step filled",
    }
    assert DispatchCommand.from_wire(command.to_wire()) == command


def test_the_energy_range_at_a_price_spans_every_fill_of_the_marginal_steps() -> None:
    bid = curves(
        buy=[BidStep(20, 500, "battery"), BidStep(15, 300, "battery"), BidStep(15, 100, "ev")],
        sell=[BidStep(10, 200, "battery"), BidStep(15, 400, "battery")],
        baseline={"battery": -100},
    )
    # At 15: the buy step at 20 fills, the sell step at 10 fills, both steps at 15 in any part.
    assert energy_range_at(bid, "battery", 15) == (-100 + 500 - 200 - 400, -100 + 500 + 300 - 200)
    # At 12: both buys fill, the sell at 10 fills, the sell at 15 does not.
    assert energy_range_at(bid, "battery", 12) == (500, 500)
    assert energy_range_at(bid, "ev", 16) == (0, 0)
    assert energy_range_at(bid, "pv", 15) == (0, 0)


@given(
    price=st.integers(0, 40),
    steps=st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), st.integers(0, 40), st.integers(1, 900)),
        max_size=6,
    ),
    share=st.floats(0, 1),
)
def test_every_fill_consistent_with_a_price_lies_in_the_range_at_that_price(
    price: int, steps: list[tuple[str, int, int]], share: float
) -> None:
    buy = [BidStep(p, wh, "battery") for side, p, wh in steps if side == "buy"]
    sell = [BidStep(p, wh, "battery") for side, p, wh in steps if side == "sell"]

    def fill(step: BidStep, wins: bool) -> int:
        return step.energy_wh if wins else round(step.energy_wh * share)

    buy_fills = [fill(s, s.price > price) if s.price >= price else 0 for s in buy]
    sell_fills = [fill(s, s.price < price) if s.price <= price else 0 for s in sell]
    bid = curves(buy, sell, {"battery": 50})
    least, most = energy_range_at(bid, "battery", price)
    assert least <= device_energies(bid, buy_fills, sell_fills)["battery"].energy_wh <= most
