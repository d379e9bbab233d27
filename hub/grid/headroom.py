"""Transfer headroom: how much more power may move from one bus to another within the limits.

LinDistFlow is linear, so a transfer of t kW from bus s (injecting) to bus b (withdrawing) changes
every branch flow and squared voltage by t times a fixed pattern: flows change by +t on the path
from the transformer to b and by -t on the path to s (the shared part cancels), and the squared
voltage of bus j changes by t (R(j, s) - R(j, b)), where R(j, x) is the drop coefficient of the
branches the paths to j and x share. The largest t is the tightest limit's slack divided by its
rate of change. Transfers are recorded on top of an optional base load (e.g. a forecast of
everything that does not trade locally), so later checks see earlier trades.

Each bus's path and shared-drop columns are computed once, when first needed, and answers are
cached per bus pair until the next recorded transfer: an order book asks about the same pairs
many times.
"""

from __future__ import annotations

import math

import numpy as np

from hub.grid.lindistflow import FloatArray, drop_coefficients, path_sums, sweep
from hub.grid.model import (
    DEFAULT_LOADING_LIMIT,
    DEFAULT_VOLTAGE_MARGIN_PU,
    Feeder,
    check_limit_margins,
)


class TransferHeadroom:
    def __init__(
        self,
        feeder: Feeder,
        base_load_kw: FloatArray | None = None,
        *,
        margin_pu: float = DEFAULT_VOLTAGE_MARGIN_PU,
        loading_limit: float = DEFAULT_LOADING_LIMIT,
    ) -> None:
        """base_load_kw: net load per tree position (consumption positive); zero if None.
        margin_pu tightens the voltage band; loading_limit scales the thermal limits (the safe
        defaults of hub.grid.model)."""
        check_limit_margins(margin_pu, loading_limit)
        n = feeder.tree.size
        load = np.zeros(n) if base_load_kw is None else np.asarray(base_load_kw, dtype=np.float64)
        if load.shape != (n,):
            raise ValueError(f"base_load_kw must have one value per bus ({n}), got {load.shape}")
        flow = sweep(feeder, load)
        self._feeder = feeder
        self._flow_kw = flow.flow_kw.copy()
        self._v2 = flow.voltage_pu**2
        self._v2_high = (feeder.v_max_pu - margin_pu) ** 2
        self._v2_low = (feeder.v_min_pu + margin_pu) ** 2
        self._limit_kw = feeder.branch_limit_kva * loading_limit
        self._per_kw = drop_coefficients(feeder)[0]
        self._columns: dict[int, tuple[FloatArray, FloatArray]] = {}
        self._cache: dict[tuple[int, int], float] = {}

    def available_kw(self, from_bus: int, to_bus: int) -> float:
        """The largest extra transfer (kW, >= 0) from `from_bus` to `to_bus`; inf on one bus."""
        source = self._feeder.position_of(from_bus)
        sink = self._feeder.position_of(to_bus)
        if source == sink:
            return math.inf
        cached = self._cache.get((source, sink))
        if cached is not None:
            return cached
        d_flow, d_v2 = self._pattern(source, sink)
        limit = self._limit_kw
        slack = np.concatenate(
            (
                np.where(d_flow > 0, limit - self._flow_kw, limit + self._flow_kw),
                np.where(d_v2 > 0, self._v2_high - self._v2, self._v2 - self._v2_low),
            )
        )
        rate = np.abs(np.concatenate((d_flow, d_v2)))
        moving = rate > 1e-12
        result = math.inf
        if moving.any():
            result = max(0.0, float(np.min(slack[moving] / rate[moving])))
        self._cache[(source, sink)] = result
        return result

    def add(self, from_bus: int, to_bus: int, kw: float) -> None:
        """Record a transfer, so later checks see it."""
        source = self._feeder.position_of(from_bus)
        sink = self._feeder.position_of(to_bus)
        if source == sink:
            return
        d_flow, d_v2 = self._pattern(source, sink)
        self._flow_kw += kw * d_flow
        self._v2 += kw * d_v2
        self._cache.clear()

    def _pattern(self, source: int, sink: int) -> tuple[FloatArray, FloatArray]:
        """Change of every branch flow and squared voltage per kW moved from source to sink."""
        on_path_sink, shared_sink = self._column(sink)
        on_path_source, shared_source = self._column(source)
        return on_path_sink - on_path_source, shared_source - shared_sink

    def _column(self, position: int) -> tuple[FloatArray, FloatArray]:
        """(1 on the branches of the path to `position`, R(j, position) for every bus j)."""
        column = self._columns.get(position)
        if column is None:
            n = self._feeder.tree.size
            path = self._feeder.tree.path(position)
            on_path, drops = np.zeros(n), np.zeros(n)
            on_path[path] = 1.0
            drops[path] = self._per_kw[path]
            column = self._columns[position] = (on_path, path_sums(self._feeder, drops))
        return column
