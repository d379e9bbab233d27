"""Settlement of one cleared interval: measured against allocated energy, money and tokens.

Pure and deterministic: the hub runs it to write the settlement entries and every verifier runs it
again to check them, entry by entry.

Per participating home (one allocation in the clearing entry):

- taken / delivered: import and export register deltas of the home's grid (connection) meters
  over the interval, boundaries by `hub.ledger.meters`. Without a grid meter or with an unknown
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

from hub.ledger.entries import BURN, FLEX_AWARD, MINT, SETTLEMENT, Entry
from hub.ledger.meters import MeterTimeline
from hub.ledger.params import LedgerParams

SOURCE_ORDER = ("pv", "battery", "ev")


@dataclass(frozen=True, slots=True)
class Allocation:
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
Boundaries = tuple[Registers | None, Registers | None]  # a meter's registers at start and end

# home_id -> that home's active meters as (key_id, kind), sorted by key id
MetersByHome = Mapping[str, Sequence[tuple[str, str]]]


def split(total: int, weights: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Split `total` pro rata to weights by largest remainder; ties go to the smaller key."""
    weight_sum = sum(weight for _, weight in weights)
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
) -> list[Entry]:
    """Every entry that settles `clearing`, in chain order: settlements, mints, burns, awards."""
    start_ms, end_ms = clearing.interval_start * 1000, clearing.interval_end * 1000
    gap = params.max_reading_gap_ms
    boundaries: dict[str, Boundaries] = {}  # each meter's registers at start and end, or None
    for alloc in clearing.allocations:
        for key_id, _kind in meters.get(alloc.home_id, ()):
            timeline = timelines.get(key_id)
            boundaries[key_id] = (
                (timeline.value_at(start_ms, gap), timeline.value_at(end_ms, gap))
                if timeline
                else (None, None)
            )
    deltas = {key: _delta(*values) for key, values in boundaries.items()}

    settlements: list[Entry] = []
    delivered_local: list[tuple[str, int]] = []
    taken_local: list[tuple[str, int]] = []
    for alloc in clearing.allocations:
        entry = _settle_home(clearing, alloc, meters, boundaries, balances_mminor)
        settlements.append(entry)
        if entry["metered"]:
            delivered_local.append((alloc.home_id, min(alloc.sold_local_wh, entry["delivered_wh"])))
            taken_local.append((alloc.home_id, min(alloc.bought_local_wh, entry["taken_wh"])))

    flow = min(sum(w for _, w in delivered_local), sum(w for _, w in taken_local))
    tokens = flow // params.token_unit_wh
    mints = _mints(clearing, split(tokens, delivered_local), meters, deltas, params)
    burns = _burns(clearing.interval_start, split(tokens, taken_local), mints)
    awards = [
        award
        for alloc in clearing.allocations
        for award in _flex_awards(clearing.interval_start, alloc, meters, deltas, params)
    ]
    return settlements + mints + burns + awards


def _settle_home(
    clearing: Clearing,
    alloc: Allocation,
    meters: MetersByHome,
    boundaries: Mapping[str, Boundaries],
    balances_mminor: Mapping[str, int],
) -> Entry:
    grid_keys = [key for key, kind in meters.get(alloc.home_id, ()) if kind == "grid"]
    start = _sum_values([boundaries[key][0] for key in grid_keys])
    end = _sum_values([boundaries[key][1] for key in grid_keys])
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
    before = balances_mminor.get(alloc.home_id, 0)
    after = before + amount
    return {
        "kind": SETTLEMENT,
        "interval_start": clearing.interval_start,
        "home_id": alloc.home_id,
        "metered": metered,
        "start": list(start) if start is not None else None,
        "end": list(end) if end is not None else None,
        "taken_wh": taken,
        "delivered_wh": delivered,
        "allocated_in_wh": allocated_in,
        "allocated_out_wh": allocated_out,
        "market_mminor": market,
        "imbalance_wh": imbalance,
        "imbalance_mminor": imbalance_mminor,
        "amount_mminor": amount,
        "balance_mminor": after,
        "amount_minor": after // 1000 - before // 1000,
        "balance_minor": after // 1000,
    }


def _delta(first: Registers | None, last: Registers | None) -> Registers | None:
    if first is None or last is None:
        return None
    return last[0] - first[0], last[1] - first[1]


def _sum_values(values: Sequence[Registers | None]) -> Registers | None:
    """The registers of several meters added up; None without meters or with one unknown."""
    if not values:
        return None
    imported = exported = 0
    for value in values:
        if value is None:
            return None
        imported += value[0]
        exported += value[1]
    return imported, exported


def _mints(
    clearing: Clearing,
    shares: Mapping[str, int],
    meters: MetersByHome,
    deltas: Mapping[str, tuple[int, int] | None],
    params: LedgerParams,
) -> list[Entry]:
    unit = params.token_unit_wh
    mints: list[Entry] = []
    for home_id in sorted(shares):
        left = shares[home_id]
        home_meters = meters.get(home_id, ())
        for kind in SOURCE_ORDER:
            for key_id, meter_kind in home_meters:
                delta = deltas.get(key_id)
                if meter_kind != kind or left == 0 or delta is None:
                    continue
                take = min(left, max(delta[1], 0) // unit)
                if take:
                    mints.append(
                        _mint(clearing.interval_start, home_id, key_id, kind, take, params)
                    )
                    left -= take
        if left:
            grid_key = next(key for key, kind in home_meters if kind == "grid")
            mints.append(_mint(clearing.interval_start, home_id, grid_key, "grid", left, params))
    return mints


def _mint(
    interval_start: int, home_id: str, key_id: str, kind: str, tokens: int, params: LedgerParams
) -> Entry:
    return {
        "kind": MINT,
        "lot": lot_id(interval_start, key_id),
        "interval_start": interval_start,
        "home_id": home_id,
        "meter_key_id": key_id,
        "meter_kind": kind,
        "green": kind in params.green_kinds,
        "tokens": tokens,
    }


def _burns(interval_start: int, shares: Mapping[str, int], mints: Sequence[Entry]) -> list[Entry]:
    lots = [[mint["lot"], mint["tokens"]] for mint in mints]
    burns: list[Entry] = []
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
            burns.append(
                {
                    "kind": BURN,
                    "interval_start": interval_start,
                    "home_id": home_id,
                    "tokens": shares[home_id],
                    "lots": taken,
                }
            )
    return burns


def _flex_awards(
    interval_start: int,
    alloc: Allocation,
    meters: MetersByHome,
    deltas: Mapping[str, tuple[int, int] | None],
    params: LedgerParams,
) -> list[Entry]:
    awards: list[Entry] = []
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
            awards.append(
                {
                    "kind": FLEX_AWARD,
                    "interval_start": interval_start,
                    "home_id": alloc.home_id,
                    "device": device,
                    "action": action,
                    "tokens": 1,
                }
            )
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
