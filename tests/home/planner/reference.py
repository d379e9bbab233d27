"""The reservation-price model of a bid, written out price by price for the tests.

Independent of gridcoop_home.planner.bidding (no helper of it is used): a reservation is one
device action, on at a clearing price p when p lies on its side of its whole-cent price. Prices
are whole cents, so the plan's own actions are nudged to stay on at the expected price and the
others to stay off there. Nothing trades below feed-in or above retail. A bid agrees with the
model when, read with the one dispatch rule (device_energies) by a home that gets exactly what
it asked for, it gives every device the model's energy at every price, and its demand and
supply at every price are the model's net demand split at zero (a home nets its own flows).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from gridcoop_home.planner.reservation import Reservation
from gridcoop_home.protocol.bids import ASSET_PATTERN, BidCurves
from gridcoop_home.protocol.dispatch import device_energies

IDLE_KWH = 1e-6


def price_taker_energies(bids: BidCurves, price: int) -> dict[str, int]:
    """Every device's energy when the home gets exactly what it asked for at `price`."""
    energies = device_energies(
        bids,
        [s.energy_wh if s.price >= price else 0 for s in bids.buy],
        [s.energy_wh if s.price <= price else 0 for s in bids.sell],
    )
    return {device: e.energy_wh for device, e in energies.items()}


def demand_wh(bids: BidCurves, price: int) -> int:
    return sum(s.energy_wh for s in bids.buy if s.price >= price)


def supply_wh(bids: BidCurves, price: int) -> int:
    return sum(s.energy_wh for s in bids.sell if s.price <= price)


def net_wh(bids: BidCurves, price: int) -> int:
    return demand_wh(bids, price) - supply_wh(bids, price)


def is_on(r: Reservation, expected: int, price: int) -> bool:
    """Whether the action runs at a clearing price `price` (within feed-in..retail)."""
    takes_it = r.planned_kwh > IDLE_KWH
    if r.side == "buy":  # runs at prices at or below what the energy is worth to it
        worth = math.inf if math.isinf(r.price) else math.floor(r.price)
        if takes_it:
            return price <= worth or price <= expected
        return price <= worth and price < expected
    least = -math.inf if math.isinf(r.price) else math.ceil(r.price)  # sells at or above
    if takes_it:
        return price >= least or price >= expected
    return price >= least and price > expected


def energy_wh(r: Reservation) -> int:
    """A taken action offers what the plan runs; an idle one all it could do (Wh, signed)."""
    wh = round(1000 * (r.planned_kwh if r.planned_kwh > IDLE_KWH else r.most_kwh))
    return wh if r.side == "buy" else -wh


@dataclass(frozen=True)
class Model:
    reservations: list[Reservation]
    expected: int
    feed_in: int
    retail: int

    def devices_at(self, price: int) -> dict[str, int]:
        energies: dict[str, int] = defaultdict(int)
        for r in self.reservations:
            energies[r.asset] += energy_wh(r) if is_on(r, self.expected, price) else 0
        return dict(energies)

    def plan(self) -> dict[str, int]:
        return self.devices_at(self.expected)

    def net_at(self, price: int, net_at_expected: int) -> int:
        """The home's net demand at `price` when at the expected price it is `net_at_expected`:
        what no action changes flows at every price."""
        fixed = net_at_expected - sum(self.plan().values())
        return fixed + sum(self.devices_at(price).values())


def assert_whole_curve(bids: BidCurves, model: Model, net_at_expected: int, pv_wh: int) -> None:
    """At every price the bid can clear at: demand, supply and every device's energy."""
    for price in range(model.feed_in, model.retail + 1):
        q = model.net_at(price, net_at_expected)
        assert demand_wh(bids, price) == max(q, 0), ("demand", price)
        assert supply_wh(bids, price) == max(-q, 0), ("supply", price)
        want = {d: wh for d, wh in model.devices_at(price).items() if wh}
        got = price_taker_energies(bids, price)
        pv = got.pop("pv", 0)
        assert {d: wh for d, wh in got.items() if wh} == want, price
        assert pv == -pv_wh, ("pv", price)  # PV keeps producing; a surplus is sold, not curtailed


def assert_well_formed(bids: BidCurves) -> None:
    buy_prices = [s.price for s in bids.buy]
    sell_prices = [s.price for s in bids.sell]
    assert buy_prices == sorted(buy_prices, reverse=True)
    assert sell_prices == sorted(sell_prices)
    if bids.buy and bids.sell:
        assert max(buy_prices) < min(sell_prices), "a home nets its own flows"
    for step in (*bids.buy, *bids.sell):
        assert step.energy_wh > 0
        assert ASSET_PATTERN.match(step.asset)
