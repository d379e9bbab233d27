"""Importing pandapower's standard test feeders from their JSON export (pandapower.to_json).

The hub reads the JSON itself; pandapower is only needed here to produce the files and to run the
AC power flow the imported feeder is compared with.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hub.grid import Feeder, FeederError, load_feeder, sweep

pp = pytest.importorskip("pandapower")
pn = pytest.importorskip("pandapower.networks")

# LinDistFlow against pandapower's AC power flow (Newton-Raphson) on the original networks, with
# their own loads. Includes the transformer model's simplifications (no magnetising branch).
IMPORT_TOLERANCE_PU = 0.005


def exported(net: Any, tmp_path: Path) -> Path:
    path = tmp_path / "net.json"
    pp.to_json(net, str(path))
    return path


def loads_per_position(net: Any, feeder: Feeder) -> tuple[np.ndarray, np.ndarray]:
    p, q = np.zeros(len(feeder.bus_ids)), np.zeros(len(feeder.bus_ids))
    for row in net.load.itertuples():
        if int(row.bus) not in feeder.tree.position:
            continue  # a load on another transformer's feeder
        position = feeder.tree.position[int(row.bus)]
        p[position] += row.p_mw * 1000 * row.scaling
        q[position] += row.q_mvar * 1000 * row.scaling
    return p, q


def ac_voltages(net: Any, feeder: Feeder) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)
    return np.array([net.res_bus.vm_pu.at[bus] for bus in feeder.bus_ids])


@pytest.mark.parametrize(
    ("make", "buses"),
    [("create_kerber_landnetz_kabel_1", 17), ("create_kerber_dorfnetz", 115)],
)
def test_kerber_networks_import_and_match_the_ac_power_flow(
    make: str, buses: int, tmp_path: Path
) -> None:
    net = getattr(pn, make)()
    feeder = load_feeder(exported(net, tmp_path))

    assert len(feeder.buses) == buses  # every low-voltage bus, not the 10 kV one
    assert feeder.transformer.bus == int(net.trafo.lv_bus.iat[0])
    p, q = loads_per_position(net, feeder)
    error = np.abs(sweep(feeder, p, q).voltage_pu - ac_voltages(net, feeder)).max()
    assert error < IMPORT_TOLERANCE_PU


def test_cigre_lv_needs_a_choice_among_its_three_transformers(tmp_path: Path) -> None:
    path = exported(pn.create_cigre_network_lv(), tmp_path)

    with pytest.raises(FeederError, match="3 in-service transformers"):
        load_feeder(path)


def test_cigre_lv_residential_feeder_imports_and_matches_the_ac_power_flow(tmp_path: Path) -> None:
    net = pn.create_cigre_network_lv()
    feeder = load_feeder(exported(net, tmp_path), transformer="Trafo R0-R1")

    assert len(feeder.buses) == 18
    assert feeder.transformer.limit_kva == pytest.approx(500)
    p, q = loads_per_position(net, feeder)
    error = np.abs(sweep(feeder, p, q).voltage_pu - ac_voltages(net, feeder)).max()
    assert error < IMPORT_TOLERANCE_PU


def test_lines_keep_their_pandapower_data(tmp_path: Path) -> None:
    net = pn.create_kerber_landnetz_kabel_1()
    feeder = load_feeder(exported(net, tmp_path))

    first = net.line.iloc[0]
    line = next(x for x in feeder.lines if (x.from_bus, x.to_bus) == (first.from_bus, first.to_bus))
    assert line.r_ohm == pytest.approx(first.r_ohm_per_km * first.length_km)
    assert line.limit_kva == pytest.approx(np.sqrt(3) * 0.4 * first.max_i_ka * 1000)


def test_a_meshed_pandapower_network_is_refused_naming_the_line(tmp_path: Path) -> None:
    net = pn.create_kerber_landnetz_kabel_1()
    pp.create_line_from_parameters(
        net,
        3,
        5,
        length_km=0.1,
        r_ohm_per_km=0.2,
        x_ohm_per_km=0.08,
        c_nf_per_km=0,
        max_i_ka=0.2,
        name="tie",
    )

    with pytest.raises(FeederError, match="line 'tie': closes a loop"):
        load_feeder(exported(net, tmp_path))


def test_choosing_a_transformer_is_only_for_pandapower_files(tmp_path: Path) -> None:
    from tests.hub.grid.helpers import EXAMPLE

    with pytest.raises(FeederError, match="only be chosen when importing a pandapower"):
        load_feeder(EXAMPLE, transformer=0)
