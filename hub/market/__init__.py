"""Local energy market: pure, deterministic clearing in integer units.

Periodic mode: uniform-price double auction (clear_uniform_price), optionally kept within a
feeder's limits with nodal prices (clear_network). Continuous mode: an order book matching orders as
they arrive (OrderBook), settled into the same result shape (settle).

Imports nothing from the server, store, protocol or Home Assistant.
"""

from hub.market.continuous import (
    CallbackHeadroom,
    FeederHeadroom,
    Headroom,
    LimitOrder,
    OrderBook,
    Settlement,
    Side,
    Submission,
    Trade,
    settle,
)
from hub.market.network import clear_network
from hub.market.network_types import (
    BindingLimit,
    Curtailment,
    NetworkClearing,
    NetworkOptions,
    NodalPrice,
)
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
    "BindingLimit",
    "CallbackHeadroom",
    "ClearingResult",
    "Curtailment",
    "FeederHeadroom",
    "Headroom",
    "HomeAllocation",
    "LimitOrder",
    "MarketRules",
    "NetworkClearing",
    "NetworkOptions",
    "NodalPrice",
    "Order",
    "OrderBook",
    "Settlement",
    "Side",
    "Step",
    "StepFill",
    "Submission",
    "Trade",
    "clear_network",
    "clear_uniform_price",
    "settle",
]
