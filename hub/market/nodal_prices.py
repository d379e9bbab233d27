"""Prices on a congested feeder: the system price and each bus's congestion component.

The LP's duals give every bus a congestion component: the sum of the binding limits' shares of its
price. The system price is set by the uniform market's rule (kernels.equilibrium_interval) on
levels moved back to the transformer by their bus's congestion; each bus's integer congestion is
its dual rounded, then kept inside the range its own trades allow (nobody pays above their bid or
receives below their ask).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hub.grid.model import Feeder
from hub.grid.opf import Dispatch
from hub.market.kernels import IntArray, equilibrium_interval
from hub.market.network_market import DispatchMarket
from hub.market.network_types import BindingLimit, NodalPrice
from hub.market.types import MarketRules

# A limit is named as a reason for a bus's price when its share is at least this (minor/kWh).
REASON_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class GroupFills:
    """Whole Wh per group: dispatched by the LP, and of that traded locally or with the grid."""

    buy_dispatched: IntArray
    buy_local: IntArray
    buy_grid: IntArray
    sell_dispatched: IntArray
    sell_local: IntArray
    sell_grid: IntArray


@dataclass(frozen=True, slots=True, eq=False)
class Pricing:
    price: int | None
    price_low: int | None
    price_high: int | None
    congestion: IntArray  # per tree position

    @classmethod
    def of(
        cls,
        feeder: Feeder,
        rules: MarketRules,
        dispatch: Dispatch,
        market: DispatchMarket,
        fills: GroupFills,
    ) -> Pricing:
        """System price as in the uniform market but on congestion-adjusted levels; then one
        integer congestion per bus, as close to its dual as every trade there allows."""
        n = feeder.tree.size
        bg, sg = market.buy_groups, market.sell_groups
        # Each bus's congestion component: the binding limits' shares of its price.
        dual = dispatch.contribution.sum(axis=0) if len(dispatch.binding) else np.zeros(n)
        fee, retail, feed_in = rules.fee_per_kwh, rules.retail_price, rules.feed_in_price
        traded_buy, traded_sell = fills.buy_local > 0, fills.sell_local > 0
        lowest = np.full(n, -np.inf)  # bounds on each bus's congestion from its own trades
        highest = np.full(n, np.inf)
        price = price_low = price_high = None
        if traded_buy.any() and traded_sell.any():
            # Levels as in the uniform market, on prices moved back to the transformer by their
            # bus's congestion (where the grid's prices are retail and feed-in).
            buy_level = np.minimum(bg.price - dual[bg.position], retail) - fee
            sell_level = np.maximum(sg.price - dual[sg.position], feed_in) + fee
            # Left short: curtailed by the LP or served by the grid. A Wh the rounding to whole
            # Wh took away is not a choice the price must support.
            buy_short = (fills.buy_dispatched < bg.energy) | (fills.buy_grid > 0)
            sell_short = (fills.sell_dispatched < sg.energy) | (fills.sell_grid > 0)
            low, high = equilibrium_interval(
                (buy_level, traded_buy, buy_short),
                (sell_level, traded_sell, sell_short),
                floor=feed_in + fee,
                ceiling=retail - fee,
            )
            if low > high:  # only solver tolerance can cause this
                low = high = (low + high) / 2
            system = low + rules.k_percent * (high - low) / 100
            price = math.floor(system + 1e-9)
            price_low, price_high = math.floor(low + 1e-9), math.ceil(high - 1e-9)
            # Local buyers pay price + congestion + fee <= bid; sellers get it - fee >= ask.
            # Must-serve demand is served whatever it costs, so it sets no bound.
            flexible = traded_buy & ~market.must_serve
            np.minimum.at(
                highest,
                bg.position[flexible],
                (bg.price[flexible] - fee - price).astype(np.float64),
            )
            np.maximum.at(
                lowest,
                sg.position[traded_sell],
                (sg.price[traded_sell] + fee - price).astype(np.float64),
            )
        grid_buy = (fills.buy_grid > 0) & ~market.must_serve
        grid_sell = fills.sell_grid > 0
        np.minimum.at(
            highest,
            bg.position[grid_buy],
            (bg.price[grid_buy] - rules.retail_price).astype(np.float64),
        )
        np.maximum.at(
            lowest,
            sg.position[grid_sell],
            (sg.price[grid_sell] - rules.feed_in_price).astype(np.float64),
        )
        # Nobody pays above their bid: the buyers' bound wins if rounding left no room.
        congestion = np.minimum(np.maximum(np.round(dual), lowest), highest).astype(np.int64)
        return cls(price, price_low, price_high, congestion)


def nodal_prices(
    feeder: Feeder,
    rules: MarketRules,
    pricing: Pricing,
    dispatch: Dispatch,
    binding: tuple[BindingLimit, ...],
) -> tuple[NodalPrice, ...]:
    nodal = []
    for bus in sorted(feeder.bus_ids):
        position = feeder.tree.position[bus]
        g = int(pricing.congestion[position])
        reasons: tuple[BindingLimit, ...] = ()
        if g != 0:  # a bus whose price did not move has no reason to give
            shares = dispatch.contribution[:, position]
            strongest = np.argsort(-np.abs(shares), kind="stable").tolist()
            reasons = tuple(binding[k] for k in strongest if abs(shares[k]) >= REASON_SHARE)
        local = None if pricing.price is None else pricing.price + g
        nodal.append(
            NodalPrice(bus, local, rules.retail_price + g, rules.feed_in_price + g, g, reasons)
        )
    return tuple(nodal)
