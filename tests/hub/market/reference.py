"""Brute-force reference for uniform-price clearing, written for clarity, not speed.

It follows docs/market.md's rules literally: tries every integer price for the volume, sums curves
with plain loops, rations with exact fractions, and prices with every integer price at which each
step wants exactly what it got. It shares nothing with hub.market.uniform_price except the value
types, so agreement between the two is evidence that both implement the written rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor

from hub.market import ClearingResult, HomeAllocation, MarketRules, Order, StepFill


@dataclass
class _Bid:
    """One step of one home, with its effective price and what it got."""

    home_id: str
    index: int
    price: int
    energy: int
    effective: int
    priority: int
    local: int = 0
    grid: int = 0


def reference_clear(orders: Sequence[Order], rules: MarketRules) -> ClearingResult:
    ids = [order.home_id for order in orders]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate home_id")
    fee = rules.fee_per_kwh
    buys = [
        _Bid(o.home_id, i, s.price, s.energy_wh, min(s.price, rules.retail_price) - fee, o.priority)
        for o in orders
        for i, s in enumerate(o.buy)
    ]
    sells = [
        _Bid(
            o.home_id, i, s.price, s.energy_wh, max(s.price, rules.feed_in_price) + fee, o.priority
        )
        for o in orders
        for i, s in enumerate(o.sell)
    ]

    def demand(p: int) -> int:
        return sum(b.energy for b in buys if b.effective >= p)

    def supply(p: int) -> int:
        return sum(s.energy for s in sells if s.effective <= p)

    every_price = range(
        min((b.effective for b in buys + sells), default=0),
        max((b.effective for b in buys + sells), default=0) + 1,
    )
    volume = max((min(demand(p), supply(p)) for p in every_price), default=0)
    price = low = high = None
    if volume > 0:
        _allocate(sorted(buys, key=lambda b: -b.effective), volume)
        _allocate(sorted(sells, key=lambda s: s.effective), volume)
        # The equilibrium prices: every price at which each step wants what it got, between the
        # grid's prices seen from the local market.
        grid_band = range(rules.feed_in_price + fee, rules.retail_price - fee + 1)
        supporting = [p for p in grid_band if _supports(p, buys, sells)]
        low, high = min(supporting), max(supporting)
        price = floor(low + Fraction(rules.k_percent, 100) * (high - low))
    for b in buys:
        if b.price >= rules.retail_price:
            b.grid = b.energy - b.local
    for s in sells:
        if s.price <= rules.feed_in_price:
            s.grid = s.energy - s.local

    allocations = tuple(
        _home(order, buys, sells, rules, price) for order in sorted(orders, key=lambda o: o.home_id)
    )
    return ClearingResult(
        price=price,
        price_low=low,
        price_high=high,
        volume_wh=volume,
        welfare_mminor=sum(b.effective * b.local for b in buys)
        - sum(s.effective * s.local for s in sells),
        fees_mminor=sum(a.fees_mminor for a in allocations),
        grid_import_wh=sum(b.grid for b in buys),
        grid_export_wh=sum(s.grid for s in sells),
        allocations=allocations,
    )


def _supports(price: int, buys: list[_Bid], sells: list[_Bid]) -> bool:
    """At `price` no buyer wants more or less than it got, and no seller either."""
    return all(
        (b.local == 0 or b.effective >= price) and (b.local == b.energy or b.effective <= price)
        for b in buys
    ) and all(
        (s.local == 0 or s.effective <= price) and (s.local == s.energy or s.effective >= price)
        for s in sells
    )


def _allocate(merit_order: list[_Bid], volume: int) -> None:
    """Walk price levels best-first; the level that crosses `volume` is rationed."""
    left = volume
    levels: list[int] = []
    for bid in merit_order:
        if bid.effective not in levels:
            levels.append(bid.effective)
    for level in levels:
        at_level = [b for b in merit_order if b.effective == level]
        for priority in sorted({b.priority for b in at_level}, reverse=True):
            tier = [b for b in at_level if b.priority == priority]
            tier_energy = sum(b.energy for b in tier)
            if tier_energy <= left:
                for b in tier:
                    b.local = b.energy
                left -= tier_energy
            else:
                _largest_remainder(tier, left, tier_energy)
                left = 0


def _largest_remainder(tier: list[_Bid], amount: int, tier_energy: int) -> None:
    quotas = {id(b): Fraction(amount * b.energy, tier_energy) for b in tier}
    for b in tier:
        b.local = floor(quotas[id(b)])
    leftover = amount - sum(b.local for b in tier)
    by_remainder = sorted(
        tier, key=lambda b: (-(quotas[id(b)] - floor(quotas[id(b)])), b.home_id, b.index)
    )
    for b in by_remainder[:leftover]:
        b.local += 1


def _home(
    order: Order, buys: list[_Bid], sells: list[_Bid], rules: MarketRules, price: int | None
) -> HomeAllocation:
    mine_b = [b for b in buys if b.home_id == order.home_id]
    mine_s = [s for s in sells if s.home_id == order.home_id]
    p = 0 if price is None else price
    fee = rules.fee_per_kwh
    bought_local = sum(b.local for b in mine_b)
    sold_local = sum(s.local for s in mine_s)
    bought_grid = sum(b.grid for b in mine_b)
    sold_grid = sum(s.grid for s in mine_s)
    # Money through kWh fractions: minor/kWh * kWh = minor, * 1000 = milli-minor.
    paid = (
        Fraction(bought_local, 1000) * (p + fee) + Fraction(bought_grid, 1000) * rules.retail_price
    )
    received = (
        Fraction(sold_local, 1000) * (p - fee) + Fraction(sold_grid, 1000) * rules.feed_in_price
    )
    fees = Fraction(bought_local + sold_local, 1000) * fee
    return HomeAllocation(
        home_id=order.home_id,
        bought_local_wh=bought_local,
        sold_local_wh=sold_local,
        bought_grid_wh=bought_grid,
        sold_grid_wh=sold_grid,
        buy_fills=tuple(StepFill(b.local, b.grid) for b in mine_b),
        sell_fills=tuple(StepFill(s.local, s.grid) for s in mine_s),
        paid_mminor=_whole(paid * 1000),
        received_mminor=_whole(received * 1000),
        fees_mminor=_whole(fees * 1000),
    )


def _whole(value: Fraction) -> int:
    assert value.denominator == 1, value
    return value.numerator
