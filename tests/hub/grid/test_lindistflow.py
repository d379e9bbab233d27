"""LinDistFlow (hub.grid.lindistflow): hand-checked cases, then the AC power flow as the referee.

Tolerances against pandapower's AC power flow on the example feeder (docs/feeder.md):
voltages within 0.0025 p.u.; loading (apparent power over the rating at nominal voltage) within
5 % (relative) of the AC apparent power over the same rating: LinDistFlow ignores losses, which
show most at the transformer under heavy load. pandapower's own loading is current based:
it differs from ours by the factor 1/V (see NetworkOptions.loading_limit).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hub.grid import Bus, Feeder, Line, Transformer, sweep, violations
from hub.grid.ac_check import ac_power_flow
from tests.hub.grid.helpers import chain_feeder, example_feeder

VOLTAGE_TOLERANCE_PU = 0.0025
LOADING_TOLERANCE = 0.05  # relative


def test_one_line_drop_is_two_r_p_over_v_squared_on_squared_voltage() -> None:
    feeder = chain_feeder(2, r_ohm=0.1, x_ohm=0.05, limit_kva=100)

    flow = sweep(feeder, np.array([0.0, 40.0]), np.array([0.0, 10.0]))

    # v1 = 1 - 2 (0.1 * 40 + 0.05 * 10) / (1000 * 0.4^2) = 1 - 9 / 160
    assert flow.voltage_pu[1] == pytest.approx(math.sqrt(1 - 9 / 160))
    assert flow.flow_kw.tolist() == [40.0, 40.0]  # through the transformer and the line
    assert flow.loading[1] == pytest.approx(math.hypot(40, 10) / 100)


def test_export_reverses_the_flow_and_raises_the_voltage() -> None:
    feeder = chain_feeder(3, r_ohm=0.05)

    flow = sweep(feeder, np.array([0.0, 10.0, -30.0]))

    assert flow.flow_kw.tolist() == [-20.0, -20.0, -30.0]
    assert flow.voltage_pu[2] > flow.voltage_pu[1] > 1.0


def test_branches_only_carry_their_own_subtree() -> None:
    # Two cables leave the busbar: the load on one does not flow through the other.
    star = Feeder(
        name="star",
        nominal_kv=0.4,
        transformer=Transformer("T", 0, 400),
        buses=(Bus(0), Bus(1), Bus(2)),
        lines=(Line("L1", 0, 1, 0.01, 0.005, 200), Line("L2", 0, 2, 0.01, 0.005, 200)),
    )

    flow = sweep(star, np.array([0.0, 5.0, 7.0]))

    assert flow.flow_kw.tolist() == [12.0, 5.0, 7.0]


def test_violations_name_buses_and_lines() -> None:
    feeder = chain_feeder(3, r_ohm=0.1, limit_kva=50)

    found = violations(feeder, sweep(feeder, np.array([0.0, 0.0, 60.0])))

    assert [(v.kind, v.element) for v in found] == [
        ("voltage_min", "bus 2"),
        ("thermal", "L1"),
        ("thermal", "L2"),
    ]
    assert found[1].value == pytest.approx(60 / 50)


def test_a_margin_and_a_loading_limit_tighten_the_check() -> None:
    feeder = chain_feeder(2, r_ohm=0.01, limit_kva=100)
    flow = sweep(feeder, np.array([0.0, 96.0]))

    assert violations(feeder, flow) == ()
    assert [v.kind for v in violations(feeder, flow, loading_limit=0.95)] == ["thermal"]
    assert [v.kind for v in violations(feeder, flow, margin_pu=0.045)] == ["voltage_min"]


@pytest.mark.parametrize("seed", range(6))
def test_sweep_agrees_with_the_ac_power_flow_on_the_example_feeder(seed: int) -> None:
    pytest.importorskip("pandapower")
    feeder = example_feeder()
    rng = np.random.default_rng(seed)
    # Evening peak (up to 7 kW per home, 2 homes a bus) or noon PV export, some reactive load.
    sign = 1.0 if seed % 2 == 0 else -1.0
    load = sign * rng.uniform(0.0, 14.0, feeder.tree.size)
    load[0] = 0.0
    kvar = 0.2 * np.abs(load)

    flow = sweep(feeder, load, kvar)
    ac = ac_power_flow(feeder, load, kvar)

    assert np.abs(flow.voltage_pu - ac.voltage_pu).max() < VOLTAGE_TOLERANCE_PU
    ac_loading = ac.apparent_kva / feeder.branch_limit_kva
    assert np.all(np.abs(flow.loading - ac_loading) <= LOADING_TOLERANCE * ac_loading + 1e-9)
