"""LinDistFlow: the linearised branch-flow model of a radial feeder, solved by one sweep.

For the branch feeding bus j from its parent i (the transformer for the root bus):

    P_j = sum of the net loads in the subtree of j   (lossless power balance)
    v_j = v_i - 2 (r_j P_j + x_j Q_j) / (1000 V_kV^2)   with v = |V|^2 in p.u.^2, P in kW, r in ohm

and v of the transformer's source side is voltage_pu^2. Losses and the quadratic term of the full
DistFlow equations are dropped; the error against an AC power flow is small on LV feeders and is
measured in tests/hub/grid (docs/feeder.md). With the buses in depth-first preorder both sums are
cumulative sums, so one sweep costs a few numpy operations whatever the feeder's shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hub.grid.model import Feeder

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class PowerFlow:
    """State of the feeder, per tree position (feeder.bus_ids order).

    flow_kw/flow_kvar[i] is the power flowing down the branch that feeds bus i (the transformer
    for i = 0); negative means reverse flow towards the transformer.
    """

    voltage_pu: FloatArray
    flow_kw: FloatArray
    flow_kvar: FloatArray
    loading: FloatArray  # apparent power / thermal limit of the branch feeding each bus


@dataclass(frozen=True, slots=True)
class Violation:
    """A limit the power flow breaks: kind is 'voltage_max', 'voltage_min' or 'thermal'."""

    kind: str
    element: str  # "bus 7" for voltages, the line or transformer name for thermal limits
    value: float  # p.u. for voltages, loading (1.0 = at limit) for thermal limits
    limit: float  # the limit broken: the voltage band tightened by the margin, the loading limit


def drop_coefficients(feeder: Feeder) -> tuple[FloatArray, FloatArray]:
    """d(v_parent - v_child)/dP and /dQ for every branch, in p.u.^2 per kW and per kvar."""
    scale = 2.0 / (1000.0 * feeder.nominal_kv**2)
    return scale * feeder.branch_r_ohm, scale * feeder.branch_x_ohm


def subtree_sums(feeder: Feeder, values: FloatArray) -> FloatArray:
    """For every position, the sum of `values` over its subtree."""
    tree = feeder.tree
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    sums: FloatArray = cumulative[tree.end] - cumulative[np.arange(tree.size)]
    return sums


def path_sums(feeder: Feeder, values: FloatArray) -> FloatArray:
    """For every position, the sum of `values` over the branches from the root down to it."""
    tree = feeder.tree
    # Adding a branch's value to its whole subtree range is a difference-array update.
    difference = np.zeros(tree.size + 1)
    difference[: tree.size] += values
    np.subtract.at(difference, tree.end, values)
    sums: FloatArray = np.cumsum(difference[: tree.size])
    return sums


def sweep(feeder: Feeder, load_kw: FloatArray, load_kvar: FloatArray | None = None) -> PowerFlow:
    """Solve LinDistFlow for net loads per tree position (consumption positive, export negative)."""
    flow_kw = subtree_sums(feeder, load_kw)
    flow_kvar = np.zeros_like(flow_kw) if load_kvar is None else subtree_sums(feeder, load_kvar)
    per_kw, per_kvar = drop_coefficients(feeder)
    squared = feeder.transformer.voltage_pu**2 - path_sums(
        feeder, per_kw * flow_kw + per_kvar * flow_kvar
    )
    return PowerFlow(
        voltage_pu=np.sqrt(np.maximum(squared, 0.0)),
        flow_kw=flow_kw,
        flow_kvar=flow_kvar,
        loading=np.hypot(flow_kw, flow_kvar) / feeder.branch_limit_kva,
    )


def violations(
    feeder: Feeder,
    flow: PowerFlow,
    *,
    margin_pu: float = 0.0,
    loading_limit: float = 1.0,
    tolerance: float = 1e-9,
) -> tuple[Violation, ...]:
    """Every broken limit, voltages first, in tree order.

    `margin_pu` tightens the voltage band on both sides; `loading_limit` is the highest loading
    allowed (1.0 = the thermal limit). By default the ratings themselves: a report of what is
    broken, not the clearing's safety margins (pass those to check against them).
    """
    found = []
    # Each violation names the limit it broke: the band as tightened by the margin.
    high, low = feeder.v_max_pu - margin_pu, feeder.v_min_pu + margin_pu
    for position in np.flatnonzero(flow.voltage_pu > high + tolerance).tolist():
        found.append(
            Violation(
                "voltage_max",
                f"bus {feeder.bus_ids[position]}",
                float(flow.voltage_pu[position]),
                high,
            )
        )
    for position in np.flatnonzero(flow.voltage_pu < low - tolerance).tolist():
        found.append(
            Violation(
                "voltage_min",
                f"bus {feeder.bus_ids[position]}",
                float(flow.voltage_pu[position]),
                low,
            )
        )
    for position in np.flatnonzero(flow.loading > loading_limit + tolerance).tolist():
        found.append(
            Violation(
                "thermal",
                feeder.branch_name(position),
                float(flow.loading[position]),
                loading_limit,
            )
        )
    return tuple(found)
