"""Turn reservation prices into the next interval's bid: net curves, device tags and baselines.

Each reservation is one device action (the battery charging, a load starting...) that the home
takes at clearing prices on its side of the action's reservation price. At a clearing price p the
home's net demand is

    q(p) = fixed + sum of buy actions priced >= p - sum of sell actions priced <= p,

where `fixed` is what flows whatever the price (base load net of PV). q never rises with p.
Where q falls from one integer price to the next, the drop is the home's own actions changing:
the part above zero becomes a buy step at the lower price, the part below zero a sell step at the
higher one, each tagged with the device whose action it is (split exactly, never counted twice).
Splitting at zero keeps every buy price below every sell price: the home nets its own flows.
Where a drop straddles zero, the battery and the EV may be cut between the two steps but a load
only when no choice of whole loads fits (either step can be the rationed, marginal one: a load
cut in two could run on part of its energy); otherwise devices go in tag order (battery, ev,
load:<id>), the first ones to the buy step.

The bid also carries each device's baseline (gridcoop_home.protocol.bids): its energy when none
of its steps fills, computed so that at the expected price the bid's dispatch
(gridcoop_home.protocol.dispatch.device_energies) is exactly the plan's first slot, and at any
other price it is what the reservation prices say the home would rather do.

Rounding to integer prices and solver ties are absorbed by nudging an action's price to the
plan's side of the expected price: an action the plan takes stays on at the expected price, one
it does not take stays off.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from gridcoop_home.planner.reservation import IDLE_KW, Reservation
from gridcoop_home.protocol.bids import BASE, MAX_STEPS_PER_SIDE, BidCurves, BidStep
from gridcoop_home.protocol.dispatch import PV, device_energies, is_load

# Above this many loads switching at one price, choosing whole ones is not tried (2**n subsets).
MAX_WHOLE_LOADS = 10


@dataclass(frozen=True, slots=True)
class _Action:
    asset: str
    side: str  # "buy": the device takes energy at prices <= price; "sell": supplies at >= price
    price: int
    energy_wh: int

    def active_at(self, price: int) -> bool:
        return self.price >= price if self.side == "buy" else self.price <= price

    @property
    def signed_wh(self) -> int:
        return self.energy_wh if self.side == "buy" else -self.energy_wh


def build_bids(
    reservations: list[Reservation],
    net_wh: int,
    expected_price: float,
    feed_in: float,
    retail: float,
    pv_wh: int = 0,
    grid_limit_wh: int | None = None,
    export_limit_wh: int | None = None,
) -> BidCurves:
    """The bid for the next slot. `net_wh` is the plan's slot-0 import minus export, `pv_wh`
    the PV energy it uses in slot 0 and `grid_limit_wh` what the connection carries in a slot
    (all Wh); `export_limit_wh`, when given, what it may export (else `grid_limit_wh`)."""
    # Prices on the wire are integers, so the market clears at one: the bid agrees with the plan
    # at the expected price rounded to an integer.
    expected = round(expected_price)
    low, high = math.floor(feed_in), math.ceil(retail)
    actions = [_action(r, expected, low, high) for r in reservations]
    # The grid keeps the clearing price within [feed-in, retail]: actions outside never change.
    actions = [a for a in actions if a.energy_wh > 0 and low <= a.price <= high]
    planned = _planned(actions, expected, pv_wh)
    fixed = net_wh - sum(a.signed_wh for a in actions if a.active_at(expected))
    wire_buy, wire_sell = _wire_steps(actions, fixed, low, high, PV if pv_wh > 0 else BASE)
    if grid_limit_wh is not None:
        wire_buy = _within_limit(wire_buy, grid_limit_wh, expected, descending=True)
        export_wh = grid_limit_wh if export_limit_wh is None else export_limit_wh
        wire_sell = _within_limit(wire_sell, export_wh, expected, descending=False)
    buy = _cap(wire_buy, expected, descending=True)
    sell = _cap(wire_sell, expected, descending=False)
    return BidCurves(buy=buy, sell=sell, baseline=_baseline(buy, sell, expected, planned))


def _action(r: Reservation, expected: int, low: int, high: int) -> _Action:
    running = r.planned_kwh > IDLE_KW
    # A running action offers what the plan runs (not more); an idle one all it could do.
    energy = round(1000 * (r.planned_kwh if running else r.most_kwh))
    if r.side == "buy":
        # Above retail the grid serves it anyway: a must-run action sits at the retail price.
        price = high if math.isinf(r.price) else min(math.floor(r.price), high)
        price = max(price, expected) if running else min(price, expected - 1)
    else:
        price = low if math.isinf(r.price) else max(math.ceil(r.price), low)
        price = min(price, expected) if running else max(price, expected + 1)
    return _Action(r.asset, r.side, price, energy)


def _planned(actions: list[_Action], expected: int, pv_wh: int) -> dict[str, int]:
    """Each device's slot-0 energy in the plan (Wh, + takes, - supplies)."""
    planned: dict[str, int] = defaultdict(int)
    for a in actions:
        planned[a.asset] += a.signed_wh if a.active_at(expected) else 0
    if pv_wh > 0:
        planned[PV] -= pv_wh
    return planned


def _net(actions: list[_Action], fixed: int, price: int) -> int:
    return fixed + sum(a.signed_wh for a in actions if a.active_at(price))


def _wire_steps(
    actions: list[_Action], fixed: int, low: int, high: int, surplus: str
) -> tuple[list[BidStep], list[BidStep]]:
    """Walk the price boundaries (p, p + 1) where actions switch and split each drop of q between
    a buy step at p (the part above zero) and a sell step at p + 1 (the part below zero)."""
    buy: list[BidStep] = []
    sell: list[BidStep] = []
    boundaries = sorted({a.price if a.side == "buy" else a.price - 1 for a in actions})
    for p in boundaries:
        changes = sorted(
            (a for a in actions if (a.price == p if a.side == "buy" else a.price == p + 1)),
            key=lambda a: (a.asset, a.side, a.price),
        )
        q_low, q_high = _net(actions, fixed, p), _net(actions, fixed, p + 1)
        buy_part = max(q_low, 0) - max(q_high, 0)
        to_buy, to_sell = _split(changes, buy_part)
        if p >= low:  # below feed-in the home never trades: the drop there never happens
            buy += _tagged(to_buy, p)
        if p + 1 <= high:  # likewise above retail
            sell += _tagged(to_sell, p + 1)
    # What flows at any price: demand left when every action is off and every sale on is bought
    # at retail (base load); surplus left when every purchase is on is sold at feed-in (PV).
    if (must_buy := _net(actions, fixed, high + 1)) > 0:
        buy.append(BidStep(high, must_buy, BASE))
    if (must_sell := -_net(actions, fixed, low - 1)) > 0:
        sell.append(BidStep(low, must_sell, surplus))
    return buy, sell


def _split(changes: list[_Action], first_wh: int) -> tuple[list[_Action], list[_Action]]:
    """The first `first_wh` of the changes, and the rest. The battery and the EV may straddle
    the cut; a load, which runs whole or not at all, only when no choice of whole loads fits."""
    first: list[_Action] = []
    rest: list[_Action] = []
    left = first_wh
    for a in _whole_loads_first(changes, first_wh):
        take = min(a.energy_wh, max(left, 0))
        left -= take
        if take:
            first.append(_Action(a.asset, a.side, a.price, take))
        if a.energy_wh - take:
            rest.append(_Action(a.asset, a.side, a.price, a.energy_wh - take))
    return first, rest


def _whole_loads_first(changes: list[_Action], first_wh: int) -> list[_Action]:
    """The changes in the order that cuts no load: the loads that fill the first `first_wh`
    together with (part of) the battery and EV, then those, then the other loads. A load's steps
    on both sides of the cut could fill apart (one of them the marginal, rationed bid) and run
    it at part of its energy. Without such loads, the changes as given (tag order)."""
    loads = [a for a in changes if is_load(a.asset)]
    divisible = [a for a in changes if not is_load(a.asset)]
    if first_wh <= 0 or not loads or len(loads) > MAX_WHOLE_LOADS:
        return changes
    least = first_wh - sum(a.energy_wh for a in divisible)
    best: tuple[int, ...] | None = None
    best_wh = -1
    for size in range(len(loads) + 1):
        for chosen in combinations(range(len(loads)), size):
            wh = sum(loads[i].energy_wh for i in chosen)
            if least <= wh <= first_wh and wh > best_wh:
                best, best_wh = chosen, wh
    if best is None:
        return changes
    others = [a for i, a in enumerate(loads) if i not in best]
    return [*(loads[i] for i in best), *divisible, *others]


def _tagged(parts: Iterable[_Action], price: int) -> list[BidStep]:
    """One step per device at this price."""
    energy: dict[str, int] = defaultdict(int)
    for a in parts:
        energy[a.asset] += a.energy_wh
    return [BidStep(price, wh, asset) for asset, wh in sorted(energy.items()) if wh > 0]


def _within_limit(
    steps: list[BidStep], limit_wh: int, expected: int, *, descending: bool
) -> list[BidStep]:
    """Each action was priced alone, so at a price far from the expected one several may switch
    on together (the battery and the EV both charging cheap energy). The connection carries only
    `limit_wh` per slot: cut the worst-priced steps the plan does not take until the whole curve
    fits. The plan's own steps are kept (a plan over the limit says so in its violations). At
    one price the battery and the EV give way before a load, and a load's step goes whole: it
    cannot run at part of its power."""
    excess = sum(s.energy_wh for s in steps) - limit_wh
    if excess <= 0:
        return steps
    kept = list(steps)
    # Ties keep the steps' tag order (battery, ev, load:<id>): the battery and the EV give way
    # before a load.
    worst_first = sorted(range(len(kept)), key=lambda i: kept[i].price * (1 if descending else -1))
    for i in worst_first:
        step = kept[i]
        if excess <= 0 or _filled_at(step, expected, descending):
            continue
        cut = step.energy_wh if is_load(step.asset) else min(step.energy_wh, excess)
        kept[i] = BidStep(step.price, step.energy_wh - cut, step.asset)
        excess -= cut
    return [s for s in kept if s.energy_wh > 0]


def _cap(steps: list[BidStep], expected: int, *, descending: bool) -> tuple[BidStep, ...]:
    """Best price first, within the wire's step limit. Steps are merged only within one device
    and only on one side of the expected price, so tags and the plan stay exact."""
    ordered = sorted(steps, key=lambda s: (-s.price if descending else s.price, s.asset))
    while len(ordered) > MAX_STEPS_PER_SIDE:
        pair = _mergeable_pair(ordered, expected, descending)
        if pair is None:
            # Still too many devices: drop the smallest step the plan does not take at the
            # expected price (the home offers a little less flexibility, never a wrong tag).
            spare = [s for s in ordered if not _filled_at(s, expected, descending)]
            if not spare:
                raise ValueError(f"more than {MAX_STEPS_PER_SIDE} devices act at one price")
            ordered.remove(min(spare, key=lambda s: s.energy_wh))
            continue
        i, j = pair  # j is the worse price: the merged energy is offered there
        merged = BidStep(
            ordered[j].price, ordered[i].energy_wh + ordered[j].energy_wh, ordered[j].asset
        )
        ordered[j] = merged
        del ordered[i]
    return tuple(ordered)


def _filled_at(step: BidStep, price: int, descending: bool) -> bool:
    return step.price >= price if descending else step.price <= price


def _mergeable_pair(
    ordered: list[BidStep], expected: int, descending: bool
) -> tuple[int, int] | None:
    best: tuple[int, int, int] | None = None
    for i, a in enumerate(ordered):
        for j in range(i + 1, len(ordered)):
            b = ordered[j]
            same_side = _filled_at(a, expected, descending) == _filled_at(b, expected, descending)
            if a.asset == b.asset and same_side and (best is None or a.energy_wh < best[0]):
                best = (a.energy_wh, i, j)
                break
    return None if best is None else (best[1], best[2])


def _baseline(
    buy: tuple[BidStep, ...],
    sell: tuple[BidStep, ...],
    expected: int,
    planned: dict[str, int],
) -> dict[str, int]:
    """Each device's energy with none of its steps filled: its planned energy less what its
    steps add at the expected price (where a price-taker's steps are filled or not whole)."""
    at_expected = device_energies(
        BidCurves(buy, sell),
        [s.energy_wh if s.price >= expected else 0 for s in buy],
        [s.energy_wh if s.price <= expected else 0 for s in sell],
    )
    devices = {*planned, *at_expected} - {BASE}
    baseline = {
        device: planned.get(device, 0)
        - (at_expected[device].energy_wh if device in at_expected else 0)
        for device in sorted(devices)
    }
    return {device: wh for device, wh in baseline.items() if wh != 0 or device in at_expected}
