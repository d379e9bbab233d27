"""The dispatch LP (hub.grid.opf): welfare-maximising dispatch within LinDistFlow limits, with
prices from its duals and each binding limit's share of every bus price."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hub.grid import Blocks, NetworkInfeasible, solve_dispatch
from tests.hub.grid.helpers import chain_feeder

ROOT = Path(__file__).resolve().parents[3]

# The feeder's ratings themselves, without the default safety margins (0.005 p.u., 95 %).
AT_RATINGS = {"voltage_margin_pu": 0.0, "loading_limit": 1.0}


def blocks(
    *rows: tuple[int, int, float, float], lower: list[float] | None = None, grid: bool = False
) -> Blocks:
    """rows: (bus position, sign, cost per kW, upper kW). Without `grid` the grid's prices
    (import 1000, export -1000) keep it out of the way: the blocks trade among themselves."""
    position, sign, cost, upper = zip(*rows, strict=True)
    return Blocks(
        position=np.array(position, dtype=np.int64),
        sign=np.array(sign, dtype=np.float64),
        cost=np.array(cost, dtype=np.float64),
        lower_kw=np.array(lower or [0.0] * len(rows)),
        upper_kw=np.array(upper, dtype=np.float64),
        import_cost=30.0 if grid else 1000.0,
        export_value=8.0 if grid else -1000.0,
    )


# A seller at the far end (bus 3) offers 100 kW at cost 5; a buyer at bus 1 values 40 kW at 25,
# one at bus 2 values 30 kW at 26.
MARKET = blocks((3, 1, 5.0, 100.0), (1, -1, -25.0, 40.0), (2, -1, -26.0, 30.0))


def test_without_binding_limits_everything_worth_trading_trades_at_one_price() -> None:
    feeder = chain_feeder(4, r_ohm=0.001, limit_kva=500)

    dispatch = solve_dispatch(feeder, MARKET)

    assert dispatch.dispatch_kw.tolist() == pytest.approx([70.0, 40.0, 30.0])
    assert dispatch.binding == ()
    assert np.allclose(dispatch.bus_price, dispatch.energy_price)
    assert 5.0 <= dispatch.energy_price <= 25.0


def test_the_grid_sells_at_the_transformer_and_buys_the_surplus() -> None:
    feeder = chain_feeder(4, r_ohm=0.001, limit_kva=500)
    market = blocks((3, 1, 5.0, 100.0), (1, -1, -25.0, 40.0), (2, -1, -35.0, 30.0), grid=True)

    dispatch = solve_dispatch(feeder, market)

    # The seller (5) beats feed-in (8) and exports what the buyers leave; the 25 buyer is below
    # retail (30) but local energy is there for it.
    assert dispatch.dispatch_kw.tolist() == pytest.approx([100.0, 40.0, 30.0])
    assert (dispatch.import_kw, dispatch.export_kw) == (pytest.approx(0.0), pytest.approx(30.0))
    assert dispatch.energy_price == pytest.approx(8.0)


def test_a_thermal_limit_curtails_and_splits_prices_across_the_line() -> None:
    feeder = chain_feeder(4, r_ohm=0.001, limit_kva=30)

    dispatch = solve_dispatch(feeder, MARKET, **AT_RATINGS)

    # Only 30 kW can leave bus 3: the buyer valuing it most (26, bus 2) is served first.
    assert dispatch.dispatch_kw.tolist() == pytest.approx([30.0, 0.0, 30.0])
    [limit] = [(b.kind, b.element) for b in dispatch.binding]
    assert limit == ("thermal", "L3")
    # Energy is cheap behind the congested line (the seller's 5) and dear before it (between
    # the 25 the unserved buyer would pay and the 26 the served one does).
    assert dispatch.bus_price[3] == pytest.approx(5.0)
    assert 25.0 - 1e-9 <= dispatch.bus_price[1] <= 26.0 + 1e-9


def test_a_voltage_limit_binds_at_the_far_end_of_an_exporting_feeder() -> None:
    feeder = chain_feeder(4, r_ohm=0.1, limit_kva=500)

    dispatch = solve_dispatch(feeder, MARKET, **AT_RATINGS)

    [limit] = dispatch.binding
    assert (limit.kind, limit.element, limit.value) == ("voltage_max", "bus 3", pytest.approx(1.05))
    assert dispatch.flow.voltage_pu.max() == pytest.approx(1.05)


@pytest.mark.parametrize("r_ohm", [0.001, 0.1])
def test_bus_prices_are_the_sum_of_the_binding_limits_shares(r_ohm: float) -> None:
    feeder = chain_feeder(4, r_ohm=r_ohm, limit_kva=30)

    dispatch = solve_dispatch(feeder, MARKET)

    shares = dispatch.contribution.sum(axis=0)
    assert dispatch.energy_price + shares == pytest.approx(dispatch.bus_price, abs=1e-6)


def test_demand_that_cannot_be_curtailed_beyond_the_limits_is_infeasible() -> None:
    feeder = chain_feeder(2, limit_kva=30)
    must_serve = blocks((1, -1, -30.0, 50.0), lower=[50.0], grid=True)

    with pytest.raises(NetworkInfeasible):
        solve_dispatch(feeder, must_serve)


def test_the_model_is_small_and_reported() -> None:
    feeder = chain_feeder(4, limit_kva=30)

    stats = solve_dispatch(feeder, MARKET).stats

    # 3 blocks + import + export + 4 flows + 4 voltages; 4 balance + 4 voltage rows + the link.
    assert (stats.columns, stats.rows) == (13, 9)
    assert stats.build_s >= 0 and stats.solve_s >= 0


FIRST_DISPATCH = """
from tests.hub.grid.test_opf import MARKET
from tests.hub.grid.helpers import chain_feeder
from hub.grid import solve_dispatch
solve_dispatch(chain_feeder(4, r_ohm=0.001, limit_kva=500), MARKET)
"""


def test_the_first_dispatch_in_a_process_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    """HiGHS prints a banner from C++ on the first solver of a process: not into the hub's log.
    (tests/home/planner/test_quiet.py shows that this capture would see it.)"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "home")])}
    subprocess.run([sys.executable, "-c", FIRST_DISPATCH], cwd=ROOT, env=env, check=True)
    assert capfd.readouterr() == ("", "")
