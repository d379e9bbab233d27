"""An independent reference for the clearing price: the welfare LP and its dual, solved by HiGHS.

The market's welfare LP on effective prices (grid caps and fees included) is

    maximise  sum_b level_b x_b - sum_s level_s y_s
    s.t.      sum_b x_b = sum_s y_s,   0 <= x_b <= energy_b,   0 <= y_s <= energy_s.

The prices that support an optimal dispatch are the optimal values of p in its dual

    minimise  sum_b energy_b u_b + sum_s energy_s w_s
    s.t.      u_b >= level_b - p,   w_s >= p - level_s,   u, w >= 0,

with p kept within [feed-in + fee, retail - fee]: the grid sells and buys without limit at those
prices, as seen from the local market. Minimising and maximising p over the dual's optimal face
gives the equilibrium interval. Nothing here is shared with hub.market: only scipy's linprog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from hub.market import MarketRules, Order

# The dual's optimal face is found by bounding its objective this close to the optimum (money in
# milli-minor units): p can then move by at most this much (every step has at least 1 Wh).
_FACE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class LpEquilibrium:
    welfare: float
    price_low: int | None  # None when the band between the grid's prices is empty
    price_high: int | None


def lp_equilibrium(orders: list[Order], rules: MarketRules) -> LpEquilibrium:
    fee = rules.fee_per_kwh
    buy_level = np.array(
        [min(s.price, rules.retail_price) - fee for o in orders for s in o.buy], dtype=float
    )
    buy_energy = np.array([s.energy_wh for o in orders for s in o.buy], dtype=float)
    sell_level = np.array(
        [max(s.price, rules.feed_in_price) + fee for o in orders for s in o.sell], dtype=float
    )
    sell_energy = np.array([s.energy_wh for o in orders for s in o.sell], dtype=float)
    welfare = _welfare(buy_level, buy_energy, sell_level, sell_energy)
    floor, ceiling = rules.feed_in_price + fee, rules.retail_price - fee
    if floor > ceiling:
        return LpEquilibrium(welfare, None, None)
    low, high = _dual_interval(buy_level, buy_energy, sell_level, sell_energy, floor, ceiling)
    return LpEquilibrium(welfare, low, high)


def _welfare(
    buy_level: np.ndarray, buy_energy: np.ndarray, sell_level: np.ndarray, sell_energy: np.ndarray
) -> float:
    if len(buy_level) == 0 or len(sell_level) == 0:
        return 0.0
    result = linprog(
        np.concatenate((-buy_level, sell_level)),
        A_eq=np.concatenate((np.ones(len(buy_level)), -np.ones(len(sell_level))))[None, :],
        b_eq=[0.0],
        bounds=[(0.0, e) for e in np.concatenate((buy_energy, sell_energy))],
        method="highs",
    )
    assert result.status == 0, result.message
    return float(-result.fun)


def _dual_interval(
    buy_level: np.ndarray,
    buy_energy: np.ndarray,
    sell_level: np.ndarray,
    sell_energy: np.ndarray,
    floor: int,
    ceiling: int,
) -> tuple[int, int]:
    nb, ns = len(buy_level), len(sell_level)
    size = nb + ns + 1  # u (per buy step), w (per sell step), p
    rows = np.zeros((nb + ns, size))
    rows[np.arange(nb), np.arange(nb)] = -1.0  # -u_b - p <= -level_b
    rows[:nb, -1] = -1.0
    rows[nb + np.arange(ns), nb + np.arange(ns)] = -1.0  # -w_s + p <= level_s
    rows[nb:, -1] = 1.0
    bounds_rhs = np.concatenate((-buy_level, sell_level))
    bounds = [(0.0, None)] * (nb + ns) + [(float(floor), float(ceiling))]
    cost = np.concatenate((buy_energy, sell_energy, [0.0]))
    best = linprog(cost, A_ub=rows, b_ub=bounds_rhs, bounds=bounds, method="highs")
    assert best.status == 0, best.message
    face_rows = np.vstack((rows, cost[None, :]))
    face_rhs = np.append(bounds_rhs, best.fun + _FACE_TOLERANCE)
    ends = []
    for direction in (1.0, -1.0):
        objective = np.zeros(size)
        objective[-1] = direction
        end = linprog(objective, A_ub=face_rows, b_ub=face_rhs, bounds=bounds, method="highs")
        assert end.status == 0, end.message
        p = float(end.x[-1])
        # The interval's ends are effective prices or the grid's: integers.
        assert abs(p - round(p)) < 1e-3, p
        ends.append(round(p))
    return ends[0], ends[1]
