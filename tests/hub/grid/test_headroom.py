"""Transfer headroom (hub.grid.headroom): how much more may flow between two buses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hub.grid import TransferHeadroom, sweep, violations
from tests.hub.grid.helpers import chain_feeder

# The lines' ratings themselves, without the default safety margins (0.005 p.u., 95 %).
AT_RATINGS = {"margin_pu": 0.0, "loading_limit": 1.0}


def test_a_transfer_is_limited_by_the_lines_between_the_buses() -> None:
    feeder = chain_feeder(4, r_ohm=0.001, limit_kva=50)
    headroom = TransferHeadroom(feeder, **AT_RATINGS)

    assert headroom.available_kw(3, 1) == pytest.approx(50.0)
    headroom.add(3, 1, 20.0)
    assert headroom.available_kw(3, 1) == pytest.approx(30.0)
    # The opposite direction relieves the loaded lines first.
    assert headroom.available_kw(1, 3) == pytest.approx(70.0)


def test_a_transfer_on_one_bus_needs_no_network() -> None:
    headroom = TransferHeadroom(chain_feeder(3))

    assert math.isinf(headroom.available_kw(2, 2))


def test_voltage_limits_bound_transfers_on_long_lines() -> None:
    feeder = chain_feeder(3, r_ohm=0.2, limit_kva=500)
    headroom = TransferHeadroom(feeder, **AT_RATINGS)

    kw = headroom.available_kw(2, 0)  # export from the far end to the busbar
    load = np.array([kw, 0.0, -kw])

    flow = sweep(feeder, load)
    assert flow.voltage_pu[2] == pytest.approx(1.05)
    assert violations(feeder, flow, tolerance=1e-9) == ()


def test_a_base_load_already_beyond_a_limit_leaves_no_room_to_make_it_worse() -> None:
    feeder = chain_feeder(3, r_ohm=0.001, limit_kva=50)
    headroom = TransferHeadroom(feeder, np.array([0.0, 0.0, 60.0]))

    assert headroom.available_kw(1, 2) == 0.0
    assert headroom.available_kw(2, 1) > 0.0
