"""The home holds its devices to the grid operator's limit (gridcoop_home.protocol.grid_limit):
controllable devices give way first (EV, battery, flexible loads; battery and PV when exporting),
what the owner switched on by hand is never reduced."""

from __future__ import annotations

from gridcoop_home.protocol.dispatch import DispatchCommand
from gridcoop_home.protocol.grid_limit import GridLimit, net_power_w, within_grid_limit

QUARTER = 900


def command(device: str, action: str, power_w: int) -> DispatchCommand:
    return DispatchCommand(device, action, power_w, power_w * QUARTER // 3600, "bought")


EVENING = [
    command("battery", "charge", 3000),
    command("ev", "charge", 11000),
    command("load:dishwasher", "start", 2000),
]


def by_device(commands: list[DispatchCommand]) -> dict[str, tuple[str, int]]:
    return {c.device: (c.action, c.power_w) for c in commands}


def test_without_a_limit_nothing_changes() -> None:
    assert within_grid_limit(EVENING, None, other_w=500) == EVENING


def test_the_ev_gives_way_first() -> None:
    held = within_grid_limit(EVENING, GridLimit(import_w=12_000), other_w=500)

    assert by_device(held) == {
        "battery": ("charge", 3000),
        "ev": ("charge", 6500),
        "load:dishwasher": ("start", 2000),
    }
    assert net_power_w(held, 500) == 12_000
    assert "grid import limit 12000 W: from 11000 W to 6500 W" in held[1].reason
    assert held[1].energy_wh == 6500 * QUARTER // 3600


def test_dimmed_to_4_2_kw_the_ev_pauses_and_the_battery_charges_slower() -> None:
    held = within_grid_limit(EVENING, GridLimit(import_w=4200), other_w=500)

    assert by_device(held) == {
        "battery": ("charge", 1700),
        "ev": ("pause", 0),
        "load:dishwasher": ("start", 2000),
    }
    assert net_power_w(held, 500) == 4200


def test_a_flexible_load_is_deferred_whole_when_the_rest_is_not_enough() -> None:
    held = within_grid_limit(EVENING, GridLimit(import_w=2000), other_w=500)

    assert by_device(held) == {
        "battery": ("idle", 0),
        "ev": ("pause", 0),
        "load:dishwasher": ("defer", 0),
    }
    assert net_power_w(held, 500) == 500


def test_what_the_owner_switched_on_by_hand_stays_on() -> None:
    held = within_grid_limit(
        EVENING, GridLimit(import_w=4200), other_w=500, fixed={"load:dishwasher", "ev"}
    )

    assert by_device(held) == {
        "battery": ("idle", 0),
        "ev": ("charge", 11000),
        "load:dishwasher": ("start", 2000),
    }  # still over the limit: the owner's devices are the owner's


def test_exports_beyond_the_limit_stop_the_battery_then_curtail_the_pv() -> None:
    noon = [command("battery", "discharge", 2000), command("pv", "export", 9000)]

    held = within_grid_limit(noon, GridLimit(export_w=5000), other_w=1000)

    assert by_device(held) == {"battery": ("idle", 0), "pv": ("curtail", 6000)}
    assert net_power_w(held, 1000) == -5000


def test_a_limit_already_kept_changes_nothing() -> None:
    assert within_grid_limit(EVENING, GridLimit(20_000, 0), other_w=500) == EVENING
