"""The market as the feeder's dispatch LP sees it: steps grouped per bus and price into blocks.

Steps of one side at the same bus and price are interchangeable for the network, so the LP
dispatches each such group as one block (hub.grid.opf.Blocks); what a group gets is later rationed
over its steps (hub.market.network_dispatch).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import numpy as np
from numpy.typing import NDArray

from hub.grid.opf import Blocks
from hub.market.kernels import IntArray, Steps
from hub.market.network_types import NetworkOptions
from hub.market.types import MAX_ABS_PRICE, MarketRules, Order

BoolArray = NDArray[np.bool_]

# Bid prices beyond this only say "serve me first"; clipping keeps the LP well scaled.
LP_PRICE_CAP = 10**6
_PRICE_SPAN = 2 * MAX_ABS_PRICE + 1


@dataclass(frozen=True, slots=True, eq=False)
class SideSteps:
    """One side's steps, with the home rank and curve position of every step (for rationing)."""

    steps: Steps
    home: IntArray  # rank of the step's home
    index: IntArray  # position of the step in its home's curve

    @classmethod
    def of(cls, steps: Steps) -> SideSteps:
        counts = np.diff(steps.bounds)
        home = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        index = np.arange(len(steps.price), dtype=np.int64) - steps.bounds[home]
        return cls(steps, home, index)


@dataclass(frozen=True, slots=True, eq=False)
class Groups:
    """Steps of one side grouped by (bus position, price): interchangeable in the LP, which
    dispatches each group as one block."""

    of_step: IntArray
    position: IntArray
    price: IntArray
    energy: IntArray

    @classmethod
    def of(cls, side: SideSteps, home_position: IntArray) -> Groups:
        position = home_position[side.home]
        key = position * _PRICE_SPAN + (side.steps.price + MAX_ABS_PRICE)
        keys, of_step = np.unique(key, return_inverse=True)
        energy = np.bincount(of_step, side.steps.energy, minlength=len(keys)).astype(np.int64)
        price = keys % _PRICE_SPAN - MAX_ABS_PRICE
        return cls(of_step.astype(np.int64), keys // _PRICE_SPAN, price, energy)


@dataclass(frozen=True, slots=True, eq=False)
class DispatchMarket:
    buy: SideSteps
    sell: SideSteps
    buy_groups: Groups  # blocks 0..len-1
    sell_groups: Groups  # the blocks after them
    priority: IntArray  # per home
    must_serve: BoolArray  # per buy group
    blocks: Blocks
    kw_per_wh: float

    @classmethod
    def build(
        cls,
        homes: list[Order],
        home_position: IntArray,
        rules: MarketRules,
        options: NetworkOptions,
        kw_per_wh: float,
    ) -> DispatchMarket:
        retail, feed_in, fee = rules.retail_price, rules.feed_in_price, rules.fee_per_kwh
        buy = SideSteps.of(Steps.of(homes, attrgetter("buy")))
        sell = SideSteps.of(Steps.of(homes, attrgetter("sell")))
        bg, sg = Groups.of(buy, home_position), Groups.of(sell, home_position)
        must = np.zeros(len(bg.price), dtype=np.bool_)
        if options.must_serve_price is not None:
            must = bg.price >= max(options.must_serve_price, retail)
        buy_kw = bg.energy.astype(np.float64) * kw_per_wh
        sell_kw = sg.energy.astype(np.float64) * kw_per_wh
        # Objective per kW, minimised: a purchase is worth its price less the fee, a sale costs its
        # price plus the fee. The grid is one more seller at retail and buyer at feed-in, both
        # quoted net of the fee so that trading with the grid carries none. When the fees exceed
        # the grid's spread no local trade can ever pay: then there is no fee, and the steps that
        # could only trade locally are left out (upper bound 0).
        local = local_trade_possible(rules)
        lp_fee = float(fee) if local else 0.0
        if not local:
            buy_kw = np.where(bg.price >= retail, buy_kw, 0.0)
            sell_kw = np.where(sg.price <= feed_in, sell_kw, 0.0)
        blocks = Blocks(
            position=np.concatenate((bg.position, sg.position)),
            sign=np.concatenate((-np.ones(len(bg.price)), np.ones(len(sg.price)))),
            cost=np.concatenate(
                (
                    lp_fee - np.clip(bg.price, -LP_PRICE_CAP, LP_PRICE_CAP).astype(np.float64),
                    np.clip(sg.price, -LP_PRICE_CAP, LP_PRICE_CAP).astype(np.float64) + lp_fee,
                )
            ),
            lower_kw=np.concatenate((np.where(must, buy_kw, 0.0), np.zeros(len(sg.price)))),
            upper_kw=np.concatenate((buy_kw, sell_kw)),
            import_cost=retail - lp_fee,
            export_value=feed_in + lp_fee,
        )
        priority = np.fromiter(map(attrgetter("priority"), homes), np.int64, len(homes))
        return cls(buy, sell, bg, sg, priority, must, blocks, kw_per_wh)


def local_trade_possible(rules: MarketRules) -> bool:
    """A local trade needs buyer level >= seller level; the best case is retail against feed-in."""
    return rules.retail_price - rules.fee_per_kwh >= rules.feed_in_price + rules.fee_per_kwh
