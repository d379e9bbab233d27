"""Cross-check a LinDistFlow state with an AC power flow (pandapower, optional).

pandapower is not a dependency of the hub: this module imports it only when called, for tests,
benchmarks and operators who want to see how far LinDistFlow is from the full AC equations on
their feeder. The feeder is rebuilt as a pandapower network describing exactly the same circuit:
the transformer becomes a series impedance fed by an external grid at its voltage.
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from hub.grid.lindistflow import FloatArray
from hub.grid.model import Feeder


@dataclass(frozen=True, slots=True, eq=False)
class AcFlow:
    """AC results per tree position: voltage (p.u.), apparent power entering each branch (kVA,
    the larger end) and current-based loading (1.0 = the branch's limit at nominal voltage)."""

    voltage_pu: FloatArray
    apparent_kva: FloatArray
    loading: FloatArray


def ac_power_flow(
    feeder: Feeder, load_kw: FloatArray, load_kvar: FloatArray | None = None
) -> AcFlow:
    """Run pandapower's Newton-Raphson power flow for net loads per tree position.

    Raises ImportError when pandapower is not installed.
    """
    pp: Any = importlib.import_module("pandapower")
    net, branches = _network(pp, feeder, load_kw, load_kvar)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandapower suggests numba; not needed at this size
        pp.runpp(net, numba=False, tolerance_mva=1e-10)
    n = feeder.tree.size
    voltage = np.array([float(net.res_bus.vm_pu.at[i]) for i in range(n)])
    apparent, loading = np.zeros(n), np.zeros(n)
    for position, line in enumerate(branches):
        if line is None:
            continue
        row = net.res_line.loc[line]
        apparent[position] = 1000 * max(
            math.hypot(row.p_from_mw, row.q_from_mvar), math.hypot(row.p_to_mw, row.q_to_mvar)
        )
        loading[position] = row.loading_percent / 100
    return AcFlow(voltage, apparent, loading)


def _network(
    pp: Any, feeder: Feeder, load_kw: FloatArray, load_kvar: FloatArray | None
) -> tuple[Any, list[int | None]]:
    kv = feeder.nominal_kv
    net = pp.create_empty_network(sn_mva=1.0)
    index = [pp.create_bus(net, vn_kv=kv, name=f"bus {bus}") for bus in feeder.bus_ids]
    branches: list[int | None] = [None] * feeder.tree.size

    def branch(a: int, b: int, r: float, x: float, kva: float, name: str) -> int:
        return int(
            pp.create_line_from_parameters(
                net,
                a,
                b,
                length_km=1.0,
                r_ohm_per_km=r,
                x_ohm_per_km=x,
                c_nf_per_km=0.0,
                max_i_ka=kva / (math.sqrt(3) * kv) / 1000,
                name=name,
            )
        )

    transformer = feeder.transformer
    if transformer.r_ohm == 0 and transformer.x_ohm == 0:
        pp.create_ext_grid(net, index[0], vm_pu=transformer.voltage_pu)
    else:
        source = pp.create_bus(net, vn_kv=kv, name="source")
        pp.create_ext_grid(net, source, vm_pu=transformer.voltage_pu)
        branches[0] = branch(
            source, index[0], transformer.r_ohm, transformer.x_ohm, transformer.limit_kva, "T"
        )
    for position in range(1, feeder.tree.size):
        line = feeder.lines[int(feeder.tree.line_index[position])]
        parent = int(feeder.tree.parent[position])
        branches[position] = branch(
            index[parent], index[position], line.r_ohm, line.x_ohm, line.limit_kva, line.name
        )
    reactive = np.zeros_like(load_kw) if load_kvar is None else load_kvar
    for position in range(feeder.tree.size):
        if load_kw[position] or reactive[position]:
            pp.create_load(
                net,
                index[position],
                p_mw=load_kw[position] / 1000,
                q_mvar=reactive[position] / 1000,
            )
    return net, branches
