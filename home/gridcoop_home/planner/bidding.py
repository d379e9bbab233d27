"""Turn reservation prices into the next interval's buy and sell curves.

The home's net demand at a clearing price p is
    q(p) = fixed + sum of buy steps with price >= p - sum of sell steps with price <= p,
where "fixed" is what flows whatever the price (base load net of PV, must-run loads). q never
rises with p, so splitting it at zero gives a buy curve whose every price lies strictly below
every sell price: the home nets its own flows. Each step carries the asset behind it.

Consistency: at the expected slot-0 price the curves clear exactly the schedule's first slot. The
reservation prices already agree with the schedule (the plan runs an asset now exactly when the
price is below its reservation price); rounding to integer prices and solver ties are absorbed by
nudging a price to the schedule's side of the expected price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gridcoop_home.planner.reservation import IDLE_KW, Reservation
from gridcoop_home.protocol.bids import MAX_STEPS_PER_SIDE, BidCurves, BidStep


@dataclass(frozen=True, slots=True)
class _Step:
    asset: str
    side: str
    price: int
    energy_wh: int


def build_bids(
    reservations: list[Reservation],
    net_wh: int,
    expected_price: float,
    feed_in: float,
    retail: float,
    has_pv: bool,
) -> BidCurves:
    """Curves for the next slot; `net_wh` is the schedule's slot-0 import minus export."""
    # Prices on the wire are integers, so the market clears at one: the curves agree with the
    # schedule at the expected price rounded to an integer.
    expected = round(expected_price)
    low, high = math.floor(feed_in), math.ceil(retail)
    steps = [_step(r, expected, low, high) for r in reservations]
    # The grid keeps the clearing price within [feed-in, retail]: steps outside never clear.
    steps = [s for s in steps if s.energy_wh > 0 and low <= s.price <= high]
    # What flows whatever the price: the schedule's net less every asset the schedule runs now.
    fixed = net_wh
    for s in steps:
        if _runs_at(s, expected):
            fixed -= s.energy_wh if s.side == "buy" else -s.energy_wh
    buy, sell = _split(steps, fixed, low, high, "pv" if has_pv else "base")
    return BidCurves(buy=_cap(buy, descending=True), sell=_cap(sell, descending=False))


def _step(r: Reservation, expected: int, low: int, high: int) -> _Step:
    running = r.planned_kwh > IDLE_KW
    energy = round(1000 * (r.planned_kwh if running else r.most_kwh))
    if r.side == "buy":
        # Above retail the grid serves it anyway: a must-run step sits at the retail price.
        price = high if math.isinf(r.price) else min(math.floor(r.price), high)
        price = max(price, expected) if running else min(price, expected - 1)
    else:
        price = max(math.ceil(r.price), low)
        price = min(price, expected) if running else max(price, expected + 1)
    return _Step(r.asset, r.side, price, energy)


def _runs_at(step: _Step, price: int) -> bool:
    return step.price >= price if step.side == "buy" else step.price <= price


def _net_demand(steps: list[_Step], fixed: int, price: int) -> int:
    return fixed + sum(
        s.energy_wh if s.side == "buy" else -s.energy_wh for s in steps if _runs_at(s, price)
    )


def _split(
    steps: list[_Step], fixed: int, low: int, high: int, surplus_asset: str
) -> tuple[list[BidStep], list[BidStep]]:
    """Walk the prices from low to high and emit a step wherever q(p) changes, tagged by its
    cause. q only changes at a step's price, so only those prices (and the ends) are visited."""
    buys: dict[int, list[_Step]] = {}
    sells: dict[int, list[_Step]] = {}
    for s in steps:
        (buys if s.side == "buy" else sells).setdefault(s.price, []).append(s)
    buy: list[BidStep] = []
    # Demand given up just above a price becomes a buy step at it; at the top, whatever is
    # still wanted is must-buy, served by the grid at retail.
    for price in sorted({*buys, *(p - 1 for p in sells), high}):
        if low <= price <= high:
            above = _net_demand(steps, fixed, price + 1) if price < high else 0
            dropped = max(_net_demand(steps, fixed, price), 0) - max(above, 0)
            causes = [*buys.get(price, ()), *sells.get(price + 1, ())]
            buy += _tagged(dropped, causes, "base", price)
    sell: list[BidStep] = []
    for price in sorted({*sells, *(p + 1 for p in buys), low}):
        if low <= price <= high:
            below = _net_demand(steps, fixed, price - 1) if price > low else 0
            added = max(-_net_demand(steps, fixed, price), 0) - max(-below, 0)
            causes = [*sells.get(price, ()), *buys.get(price - 1, ())]
            sell += _tagged(added, causes, surplus_asset, price)
    return buy, sell


def _tagged(energy: int, causes: list[_Step], rest: str, price: int) -> list[BidStep]:
    """Share a step's energy among the assets that caused it; what is left is `rest`."""
    out: list[BidStep] = []
    for cause in sorted(causes, key=lambda s: -s.energy_wh):
        part = min(cause.energy_wh, energy)
        if part > 0:
            out.append(BidStep(price=price, energy_wh=part, asset=cause.asset))
            energy -= part
    if energy > 0:
        out.append(BidStep(price=price, energy_wh=energy, asset=rest))
    return out


def _cap(steps: list[BidStep], *, descending: bool) -> tuple[BidStep, ...]:
    """Order by price (best first) and merge neighbours until the wire limit is met."""
    ordered = sorted(steps, key=lambda s: -s.price if descending else s.price)
    while len(ordered) > MAX_STEPS_PER_SIDE:
        # Merge the smallest step into its worse-priced neighbour, which keeps prices monotone.
        i = min(range(len(ordered) - 1), key=lambda k: ordered[k].energy_wh)
        a, b = ordered[i], ordered[i + 1]
        merged = BidStep(price=b.price, energy_wh=a.energy_wh + b.energy_wh, asset=b.asset)
        ordered[i : i + 2] = [merged]
    return tuple(ordered)
