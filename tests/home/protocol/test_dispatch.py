"""Dispatch commands derived from the fills of a home's tagged bid steps."""

from __future__ import annotations

import pytest
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.dispatch import DispatchCommand, derive_commands

QUARTER = 900  # seconds in a 15-minute interval


def curves(buy: list[BidStep] | None = None, sell: list[BidStep] | None = None) -> BidCurves:
    return BidCurves(buy=tuple(buy or ()), sell=tuple(sell or ()))


def only(commands: list[DispatchCommand]) -> DispatchCommand:
    assert len(commands) == 1, commands
    return commands[0]


def action(command: DispatchCommand) -> tuple[str, str, int, int]:
    return (command.device, command.action, command.power_w, command.energy_wh)


def test_a_battery_whose_sell_step_filled_discharges_at_the_average_power() -> None:
    bid = curves(sell=[BidStep(20, 500, "battery")])

    command = only(derive_commands(bid, [], [500], QUARTER))

    assert action(command) == ("battery", "discharge", 2_000, 500)


def test_a_battery_whose_buy_step_filled_charges() -> None:
    bid = curves(buy=[BidStep(10, 1_000, "battery")], sell=[BidStep(25, 500, "battery")])

    command = only(derive_commands(bid, [750], [0], QUARTER))

    assert action(command) == ("battery", "charge", 3_000, 750)


def test_a_battery_with_nothing_filled_idles() -> None:
    bid = curves(buy=[BidStep(10, 1_000, "battery")], sell=[BidStep(25, 500, "battery")])

    command = only(derive_commands(bid, [0], [0], QUARTER))

    assert action(command) == ("battery", "idle", 0, 0)


def test_an_ev_whose_buy_step_filled_charges() -> None:
    command = only(derive_commands(curves(buy=[BidStep(30, 1_850, "ev")]), [1_850], [], QUARTER))

    assert action(command) == ("ev", "charge", 7_400, 1_850)


def test_an_ev_partly_filled_charges_with_what_it_got() -> None:
    command = only(derive_commands(curves(buy=[BidStep(30, 1_850, "ev")]), [925], [], QUARTER))

    assert action(command) == ("ev", "charge", 3_700, 925)


def test_an_ev_priced_out_pauses() -> None:
    command = only(derive_commands(curves(buy=[BidStep(30, 1_850, "ev")]), [0], [], QUARTER))

    assert action(command) == ("ev", "pause", 0, 0)


def test_a_fully_filled_deferrable_load_starts() -> None:
    bid = curves(buy=[BidStep(40, 300, "load:dishwasher"), BidStep(35, 200, "load:dishwasher")])

    command = only(derive_commands(bid, [300, 200], [], QUARTER))

    assert action(command) == ("load:dishwasher", "start", 2_000, 500)


@pytest.mark.parametrize("filled", [[300, 199], [0, 0], [300, 0]])
def test_a_deferrable_load_not_fully_covered_is_deferred(filled: list[int]) -> None:
    bid = curves(buy=[BidStep(40, 300, "load:dishwasher"), BidStep(35, 200, "load:dishwasher")])

    command = only(derive_commands(bid, filled, [], QUARTER))

    assert action(command) == ("load:dishwasher", "defer", 0, 0)


def test_pv_that_sold_everything_exports() -> None:
    command = only(derive_commands(curves(sell=[BidStep(5, 1_000, "pv")]), [], [1_000], QUARTER))

    assert action(command) == ("pv", "export", 4_000, 1_000)


@pytest.mark.parametrize(("sold", "power"), [(400, 1_600), (0, 0)])
def test_pv_that_sold_less_than_offered_is_curtailed_to_the_sold_power(
    sold: int, power: int
) -> None:
    command = only(derive_commands(curves(sell=[BidStep(5, 1_000, "pv")]), [], [sold], QUARTER))

    assert action(command) == ("pv", "curtail", power, sold)


def test_base_load_gets_no_command_whatever_happens() -> None:
    bid = curves(buy=[BidStep(50, 400)], sell=[BidStep(60, 100, "base")])

    assert derive_commands(bid, [400], [100], QUARTER) == []
    assert derive_commands(bid, [0], [0], QUARTER) == []


def test_steps_of_the_same_asset_are_added_up() -> None:
    bid = curves(sell=[BidStep(20, 300, "battery"), BidStep(25, 200, "battery")])

    command = only(derive_commands(bid, [], [300, 100], QUARTER))

    assert action(command) == ("battery", "discharge", 1_600, 400)


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
