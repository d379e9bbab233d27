"""Local energy market: pure, deterministic uniform-price double-auction clearing.

Imports nothing from the server, store, protocol or Home Assistant; integer units only.
"""

from hub.market.types import (
    MAX_ABS_PRICE,
    MAX_ABS_PRIORITY,
    MAX_ENERGY_WH,
    ClearingResult,
    HomeAllocation,
    MarketRules,
    Order,
    Step,
    StepFill,
)
from hub.market.uniform_price import clear_uniform_price

__all__ = [
    "MAX_ABS_PRICE",
    "MAX_ABS_PRIORITY",
    "MAX_ENERGY_WH",
    "ClearingResult",
    "HomeAllocation",
    "MarketRules",
    "Order",
    "Step",
    "StepFill",
    "clear_uniform_price",
]
