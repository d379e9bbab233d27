"""Value types of the local energy market: one interval's orders, the rules and the clearing result.

Units: prices are integer minor currency units per kWh, energy is integer Wh, money is integer
milli-minor units (1/1000 minor unit). price [minor/kWh] x energy [Wh] = milli-minor exactly, so
every amount below is an exact integer and the market balances to the last unit.

Orders and rules validate themselves on construction, so the clearing code can trust them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# Bounds keep every intermediate of the vectorised clearing inside int64 with a wide margin:
# 1 GWh per step and 10^9 minor units per kWh are far beyond any household.
MAX_ENERGY_WH = 10**9
MAX_ABS_PRICE = 10**9
MAX_ABS_PRIORITY = 10**9


@dataclass(frozen=True, slots=True)
class Step:
    """Up to `energy_wh` Wh at `price` minor units per kWh (a limit price, not a fixed price)."""

    price: int
    energy_wh: int


@dataclass(frozen=True, slots=True)
class Order:
    """A home's bid for one interval.

    Buy prices must be non-increasing and sell prices non-decreasing along the curve. `priority`
    only matters when rationing at the marginal price level: higher tiers are served first.
    """

    home_id: str
    buy: tuple[Step, ...]
    sell: tuple[Step, ...]
    priority: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.home_id, str) or not self.home_id:
            raise ValueError(f"home_id must be a non-empty string, got {self.home_id!r}")
        where = f"home {self.home_id!r}"
        _check_int(self.priority, MAX_ABS_PRIORITY, f"{where}: priority")
        _check_curve(self.buy, f"{where}: buy", non_increasing=True)
        _check_curve(self.sell, f"{where}: sell", non_increasing=False)
        # A home that would buy at or above its own ask must net those flows before bidding;
        # otherwise the market would trade it with itself.
        if self.buy and self.sell and self.buy[0].price >= self.sell[0].price:
            raise ValueError(
                f"{where}: curves cross: highest buy price {self.buy[0].price} >= "
                f"lowest sell price {self.sell[0].price}; net the home's own flows first"
            )


@dataclass(frozen=True, slots=True)
class MarketRules:
    """The grid backstop and the local market's fee and price rule.

    The grid sells without limit at `retail_price` and buys without limit at `feed_in_price`.
    `fee_per_kwh` is charged to each side of a local trade. `k_percent` places the clearing price
    inside the market-clearing interval: 0 = lowest price (best for buyers), 100 = highest.
    """

    retail_price: int
    feed_in_price: int
    fee_per_kwh: int = 0
    k_percent: int = 50

    def __post_init__(self) -> None:
        _check_int(self.retail_price, MAX_ABS_PRICE, "rules: retail_price")
        _check_int(self.feed_in_price, MAX_ABS_PRICE, "rules: feed_in_price")
        _check_int(self.fee_per_kwh, MAX_ABS_PRICE, "rules: fee_per_kwh")
        _check_int(self.k_percent, MAX_ABS_PRICE, "rules: k_percent")
        if self.feed_in_price > self.retail_price:
            raise ValueError(
                f"rules: feed_in_price {self.feed_in_price} must not exceed "
                f"retail_price {self.retail_price}"
            )
        if self.fee_per_kwh < 0:
            raise ValueError(f"rules: fee_per_kwh must be >= 0, got {self.fee_per_kwh}")
        if not 0 <= self.k_percent <= 100:
            raise ValueError(f"rules: k_percent must be within 0..100, got {self.k_percent}")


class StepFill(NamedTuple):
    """How much of one step was traded locally and how much with the grid (Wh).

    Result rows are NamedTuples rather than frozen dataclasses: equally immutable, and about five
    times cheaper to build, which matters for 10,000-home markets (see bench/bench_clearing.py).
    """

    local_wh: int
    grid_wh: int


class HomeAllocation(NamedTuple):
    """One home's outcome. Fills are in the same order as the order's steps.

    paid/received include grid trades; fees are already included in paid (buying) and deducted
    from received (selling), and are reported separately for transparency.

    The market's own result; what the hub stores, sends and records is the protocol's
    Allocation (gridcoop_home.protocol.allocation), made from this by
    hub.service.clearing.build_records.
    """

    home_id: str
    bought_local_wh: int
    sold_local_wh: int
    bought_grid_wh: int
    sold_grid_wh: int
    buy_fills: tuple[StepFill, ...]
    sell_fills: tuple[StepFill, ...]
    paid_mminor: int
    received_mminor: int
    fees_mminor: int


@dataclass(frozen=True, slots=True)
class ClearingResult:
    """Outcome of one interval. Prices are None when nothing trades locally.

    `welfare_mminor` is the gain of local trading over using the grid, valued at effective prices.
    `allocations` has one entry per order, sorted by home_id.
    """

    price: int | None
    price_low: int | None
    price_high: int | None
    volume_wh: int
    welfare_mminor: int
    fees_mminor: int
    grid_import_wh: int
    grid_export_wh: int
    allocations: tuple[HomeAllocation, ...]


def _check_int(value: object, max_abs: int, what: str) -> None:
    # bool is an int subclass but never a meaningful price or energy.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an int, got {value!r}")
    if abs(value) > max_abs:
        raise ValueError(f"{what} must be within +-{max_abs}, got {value}")


def _check_curve(steps: object, where: str, *, non_increasing: bool) -> None:
    if not isinstance(steps, tuple):
        raise ValueError(f"{where} must be a tuple of Step, got {type(steps).__name__}")
    previous: Step | None = None
    for index, step in enumerate(steps):
        if not isinstance(step, Step):
            raise ValueError(f"{where}[{index}] must be a Step, got {type(step).__name__}")
        _check_int(step.price, MAX_ABS_PRICE, f"{where}[{index}].price")
        _check_int(step.energy_wh, MAX_ENERGY_WH, f"{where}[{index}].energy_wh")
        if step.energy_wh <= 0:
            raise ValueError(f"{where}[{index}].energy_wh must be > 0, got {step.energy_wh}")
        if previous is not None:
            wrong = step.price > previous.price if non_increasing else step.price < previous.price
            if wrong:
                trend = "non-increasing" if non_increasing else "non-decreasing"
                raise ValueError(
                    f"{where}[{index}].price {step.price} breaks the {trend} curve "
                    f"(previous step is {previous.price})"
                )
        previous = step
