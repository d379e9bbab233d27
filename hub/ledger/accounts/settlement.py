"""Settlement of one cleared interval: measured against allocated energy, money and tokens.

Pure and deterministic: the hub runs it to write the settlement entries and every verifier runs it
again to check them, entry by entry.

Per participating home (one allocation in the clearing entry):

- taken / delivered: import and export register deltas of the home's grid (connection) meters
  over the interval, boundaries by `hub.ledger.accounts.meters`. Without a grid meter or with an
  unknown
  boundary the home is *unmetered*: it settles at its allocation, with no deviation and no tokens.
- imbalance = (taken - delivered) - (allocated in - allocated out), in Wh. A positive imbalance
  (more net import than bought) is paid at the grid retail price; a negative one (less net import
  than bought, or more export than sold) is credited at the feed-in price.
- money in milli-minor units (price [minor/kWh] x energy [Wh] is exact): amount = received - paid
  + imbalance credit/charge. The balance is kept exactly in milli-minor units; the minor-unit
  balance is its floor (rounded toward minus infinity) and a line's minor amount is the difference
  of consecutive floors, so statement lines always add up to the balance.

Tokens (metered homes only), one token per `token_unit_wh`:

- energy a producer delivered locally = min(sold locally, measured export); energy a consumer took
  locally = min(bought locally, measured import). The local flow is the smaller of the two totals;
  floor(flow / unit) tokens are minted to producers and burned by consumers, each side split pro
  rata by largest remainder (ties by home id). Fractions of a token are not minted.
- a producer's tokens are attributed to its source meters in the order pv, battery, ev (up to each
  meter's own measured export), the rest to its grid meter; one lot per (meter, interval), green
  when the meter's kind is in the chain's green kinds.
- burns take units from the interval's lots in lot order, consumers in home-id order; the burned
  units' certificates of origin go to the consumer, who may retire the green ones.

Flexibility: one flexibility token per followed dispatch command, checked against the device's
own meter: battery charge/discharge and EV charge need at least (100 - tolerance)% of the
commanded energy on the import/export register; EV pause allows at most `flex_idle_wh`; PV
curtailment allows the commanded export plus tolerance. Other commands cannot be verified from
meters and earn nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from gridcoop_home.ledger.entries import (
    SETTLEMENT_FIELDS,
)
from gridcoop_home.ledger.tables import SettledInterval

from hub.ledger.accounts.meters import MeterTimeline
from hub.ledger.accounts.params import LedgerParams

SOURCE_ORDER = ("pv", "battery", "ev")


class Allocation(NamedTuple):
    """One home's allocation in a clearing (a tuple: a clearing builds one per home, and a
    frozen dataclass costs several times more to build)."""

    home_id: str
    bought_local_wh: int
    sold_local_wh: int
    bought_grid_wh: int
    sold_grid_wh: int
    paid_mminor: int
    received_mminor: int
    dispatch: tuple[tuple[str, str, int], ...]  # (device, action, energy_wh)


@dataclass(frozen=True, slots=True)
class Clearing:
    interval_start: int
    interval_end: int
    retail_price: int
    feed_in_price: int
    allocations: tuple[Allocation, ...]


Registers = tuple[int, int]  # (import_wh, export_wh)

# home_id -> that home's active meters as (key_id, kind), sorted by key id
MetersByHome = Mapping[str, Sequence[tuple[str, str]]]


def split(total: int, weights: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Split `total` pro rata to weights by largest remainder; ties go to the smaller key."""
    weight_sum = sum(map(itemgetter(1), weights))
    if total <= 0 or weight_sum <= 0:
        return {}
    shares = {key: total * weight // weight_sum for key, weight in weights}
    left = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda kw: (-(total * kw[1] % weight_sum), kw[0]))
    for key, _ in by_remainder[:left]:
        shares[key] += 1
    return shares


def lot_id(interval_start: int, meter_key_id: str) -> str:
    return f"{interval_start}:{meter_key_id}"


def settle_interval(
    clearing: Clearing,
    meters: MetersByHome,
    timelines: Mapping[str, MeterTimeline],
    balances_mminor: Mapping[str, int],
    params: LedgerParams,
) -> SettledInterval:
    """Every row that settles `clearing`: settlements, mints, burns and awards, in chain order."""
    start_ms, end_ms = clearing.interval_start * 1000, clearing.interval_end * 1000
    gap = params.max_reading_gap_ms
    deltas: dict[str, Registers | None] = {}  # each meter's (imported, exported), or None
    settlements: list[list[Any]] = []
    delivered_local: list[tuple[str, int]] = []
    taken_local: list[tuple[str, int]] = []
    for alloc in clearing.allocations:
        # The home's grid meters added up at each boundary: None without a grid meter or when
        # one of them is unknown there. Every meter's own delta is kept for mints and awards.
        grid = start_known = end_known = False
        start_import = start_export = end_import = end_export = 0
        for key_id, kind in meters.get(alloc.home_id, ()):
            timeline = timelines.get(key_id)
            first = last = None
            if timeline is not None:
                first, last = timeline.value_at(start_ms, gap), timeline.value_at(end_ms, gap)
            deltas[key_id] = (
                None if first is None or last is None else (last[0] - first[0], last[1] - first[1])
            )
            if kind == "grid":
                if not grid:
                    grid = start_known = end_known = True
                if first is None:
                    start_known = False
                else:
                    start_import, start_export = start_import + first[0], start_export + first[1]
                if last is None:
                    end_known = False
                else:
                    end_import, end_export = end_import + last[0], end_export + last[1]
        start = (start_import, start_export) if start_known else None
        end = (end_import, end_export) if end_known else None
        before = balances_mminor.get(alloc.home_id, 0)
        row = _settle_home(clearing, alloc, start, end, before)
        settlements.append(row)
        if row[_METERED]:
            delivered_local.append((alloc.home_id, min(alloc.sold_local_wh, row[_DELIVERED])))
            taken_local.append((alloc.home_id, min(alloc.bought_local_wh, row[_TAKEN])))

    flow = min(sum(map(itemgetter(1), delivered_local)), sum(map(itemgetter(1), taken_local)))
    tokens = flow // params.token_unit_wh
    mints = _mints(clearing, split(tokens, delivered_local), meters, deltas, params)
    burns = _burns(split(tokens, taken_local), mints)
    awards = [
        award
        for alloc in clearing.allocations
        if alloc.dispatch
        for award in _flex_awards(alloc, meters, deltas, params)
    ]
    return SettledInterval(clearing.interval_start, settlements, mints, burns, awards)


_METERED = SETTLEMENT_FIELDS.index("metered")
_TAKEN = SETTLEMENT_FIELDS.index("taken_wh")
_DELIVERED = SETTLEMENT_FIELDS.index("delivered_wh")


def _settle_home(
    clearing: Clearing,
    alloc: Allocation,
    start: Registers | None,
    end: Registers | None,
    before: int,
) -> list[Any]:
    """One settlement row (columns: SETTLEMENT_FIELDS): `start` and `end` are the home's grid
    registers at the boundaries, `before` its balance before the interval."""
    allocated_in = alloc.bought_local_wh + alloc.bought_grid_wh
    allocated_out = alloc.sold_local_wh + alloc.sold_grid_wh
    market = alloc.received_mminor - alloc.paid_mminor
    metered = start is not None and end is not None
    taken = delivered = imbalance = imbalance_mminor = 0
    if start is not None and end is not None:
        taken, delivered = end[0] - start[0], end[1] - start[1]
        imbalance = (taken - delivered) - (allocated_in - allocated_out)
        price = clearing.retail_price if imbalance > 0 else clearing.feed_in_price
        imbalance_mminor = -imbalance * price
    amount = market + imbalance_mminor
    after = before + amount
    return [
        alloc.home_id,
        metered,
        list(start) if start is not None else None,
        list(end) if end is not None else None,
        taken,
        delivered,
        allocated_in,
        allocated_out,
        market,
        imbalance,
        imbalance_mminor,
        amount,
        after,
        after // 1000 - before // 1000,
        after // 1000,
    ]


def _mints(
    clearing: Clearing,
    shares: Mapping[str, int],
    meters: MetersByHome,
    deltas: Mapping[str, tuple[int, int] | None],
    params: LedgerParams,
) -> list[list[Any]]:
    """Mint rows (columns: MINT_FIELDS)."""
    unit, start = params.token_unit_wh, clearing.interval_start
    mints: list[list[Any]] = []
    for home_id in sorted(shares):
        left = shares[home_id]
        home_meters = meters.get(home_id, ())
        for kind in SOURCE_ORDER:
            for key_id, meter_kind in home_meters:
                if meter_kind != kind or left == 0:
                    continue
                delta = deltas.get(key_id)
                if delta is None:
                    continue
                take = min(left, max(delta[1], 0) // unit)
                if take:
                    mints.append(_mint(start, home_id, key_id, kind, take, params))
                    left -= take
        if left:
            grid_key = next(key for key, kind in home_meters if kind == "grid")
            mints.append(_mint(start, home_id, grid_key, "grid", left, params))
    return mints


def _mint(
    interval_start: int, home_id: str, key_id: str, kind: str, tokens: int, params: LedgerParams
) -> list[Any]:
    lot = lot_id(interval_start, key_id)
    return [lot, home_id, key_id, kind, kind in params.green_kinds, tokens]


def _burns(shares: Mapping[str, int], mints: Sequence[list[Any]]) -> list[list[Any]]:
    """Burn rows (columns: BURN_FIELDS): each consumer's units, lot by lot."""
    lots = [[mint[0], mint[-1]] for mint in mints]
    burns: list[list[Any]] = []
    position = 0
    for home_id in sorted(shares):
        need, taken = shares[home_id], []
        while need:
            lot, available = lots[position]
            take = min(need, available)
            taken.append([lot, take])
            need -= take
            lots[position][1] -= take
            if lots[position][1] == 0:
                position += 1
        if taken:
            burns.append([home_id, shares[home_id], taken])
    return burns


def _flex_awards(
    alloc: Allocation,
    meters: MetersByHome,
    deltas: Mapping[str, tuple[int, int] | None],
    params: LedgerParams,
) -> list[list[Any]]:
    """Award rows (columns: FLEX_AWARD_FIELDS) for the home's followed dispatch commands."""
    awards: list[list[Any]] = []
    for device, action, energy in alloc.dispatch:
        measured = [
            deltas.get(key) for key, kind in meters.get(alloc.home_id, ()) if kind == device
        ]
        known = [delta for delta in measured if delta is not None]
        if not known or len(known) != len(measured):
            continue
        imported = sum(d[0] for d in known)
        exported = sum(d[1] for d in known)
        if _followed(device, action, energy, imported, exported, params):
            awards.append([alloc.home_id, device, action, 1])
    return awards


def _followed(
    device: str, action: str, energy: int, imported: int, exported: int, params: LedgerParams
) -> bool:
    tolerance = energy * params.flex_tolerance_percent // 100
    if (device, action) in (("battery", "charge"), ("ev", "charge")):
        return energy > 0 and imported >= energy - tolerance
    if (device, action) == ("battery", "discharge"):
        return energy > 0 and exported >= energy - tolerance
    if (device, action) == ("ev", "pause"):
        return imported <= params.flex_idle_wh
    if (device, action) == ("pv", "curtail"):
        return exported <= energy + tolerance + params.flex_idle_wh
    return False
