"""Allocation of one quarter-hour's shared generation to the community's members.

Pure and deterministic. The rule, in two stages (docs/community.md has a worked example):

1. Each co-owned plant (in plant-id order) gives its output to its co-owners by their ownership
   shares (static keys, re-normalised over the owners taking part in the quarter-hour), each
   capped at what the owner still consumes; what a capped owner cannot use joins the pool.
2. The pool (members' injected surplus + community-owned plants' output + stage-1 leftovers)
   goes to the members by the community's method, each capped at its remaining consumption:
   - static: share_i = pool * key_i / sum(keys of members taking part); with `grid` leftover a
     capped member's unused share is surplus to the grid (the Austrian EEG rule), with
     `redistribute` it is handed on to the uncapped members by their keys, repeatedly, until
     nobody is capped or the pool is used up (water-filling: computed exactly, not iterated);
   - dynamic: share_i = remaining_i * min(1, pool / sum(remaining)): pro rata to consumption;
     no share can exceed its cap, so there is never a leftover to redistribute;
   - market: nothing is allocated here; the pool is left to the hub's auction.
   Whatever is not allocated is the remainder (to the grid, or to the auction for `market`).

Exact shares are fractions; they become integer Wh by one rounding rule (`round_scaled`): the
total is the floor of the exact total, each member gets the floor of its exact share, and the Wh
left go one each to the largest fractional parts, ties by member id. A rounded share never
exceeds its cap (the cap is an integer at least the exact share).

Missing data: a member taking part without a consumption value receives nothing and its key is
re-normalised away (as if it had not taken part); an injection or plant value that is missing
counts as 0. Both are listed in `missing`, so a corrected DSO file can be re-allocated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from hub.community.model import Community, Member, Method, Plant, StaticLeftover


@dataclass(frozen=True, slots=True)
class QuarterHourInput:
    """DSO values of one quarter-hour, Wh; a member or plant absent from a mapping has no value."""

    start: int
    consumption: Mapping[str, int]  # member id -> Wh drawn
    injection: Mapping[str, int]  # member id -> Wh surplus fed in
    plant_output: Mapping[str, int]  # plant id -> Wh fed in


@dataclass(frozen=True, slots=True)
class QuarterHourAllocation:
    start: int
    shared_wh: int  # all shared generation: plants + members' injection
    received: dict[str, int]  # member id -> Wh from the community (both stages)
    from_plants: dict[tuple[str, str], int]  # (plant id, owner id) -> Wh in stage 1
    member_supplied: dict[str, int]  # member id -> Wh of its injection that members used
    plant_supplied: dict[str, int]  # plant id -> Wh of its output that members used
    remainder_wh: int  # to the grid (or left to the auction for `market`)
    missing: tuple[str, ...]  # "consumption:<member>" / "injection:<member>" / "plant:<id>"

    @property
    def allocated_wh(self) -> int:
        return sum(self.received.values())


Scaled = tuple[dict[str, int], int]  # exact shares as numerators over one common denominator


def round_scaled(numerators: Mapping[str, int], denominator: int) -> dict[str, int]:
    """Integer shares of exact ones (numerator / denominator): floors, then the floor of the
    exact total minus their sum, one Wh each to the largest fractional parts, ties by key."""
    floors = {key: n // denominator for key, n in numerators.items()}
    left = sum(numerators.values()) // denominator - sum(floors.values())
    if left:
        by_fraction = sorted(numerators, key=lambda key: (-(numerators[key] % denominator), key))
        for key in by_fraction[:left]:
            floors[key] += 1
    return floors


def round_exact(exact: Mapping[str, Fraction]) -> dict[str, int]:
    """`round_scaled` for fractions."""
    denominator = math.lcm(*(value.denominator for value in exact.values())) if exact else 1
    return round_scaled(
        {k: v.numerator * (denominator // v.denominator) for k, v in exact.items()}, denominator
    )


def integer_weights(keys: Mapping[str, Fraction]) -> dict[str, int]:
    """Keys scaled to integers in the same proportions."""
    scale = math.lcm(*(key.denominator for key in keys.values())) if keys else 1
    return {m: key.numerator * (scale // key.denominator) for m, key in keys.items()}


def static_shares(
    pool: int, caps: Mapping[str, int], keys: Mapping[str, Fraction], redistribute: bool
) -> Scaled:
    """Exact static shares of `pool`, each at most its cap. Members with a zero key get nothing."""
    weights = {m: w for m, w in integer_weights({m: keys[m] for m in caps}).items() if w > 0}
    total_weight = sum(weights.values())
    if pool <= 0 or total_weight == 0:
        return {}, 1
    if not redistribute:
        return {m: min(caps[m] * total_weight, pool * w) for m, w in weights.items()}, total_weight
    # Water-filling: members in order of cap per key; while the next one's share of what is
    # left reaches its cap it is capped and leaves, the rest share what remains by their keys.
    remaining, weight_left = pool, total_weight
    order = sorted(weights, key=lambda m: (Fraction(caps[m], weights[m]), m))
    capped: list[str] = []
    for member in order:
        if remaining * weights[member] < caps[member] * weight_left:
            break
        capped.append(member)
        remaining -= caps[member]
        weight_left -= weights[member]
    denominator = max(weight_left, 1)
    shares = {m: caps[m] * denominator for m in capped}
    shares.update({m: remaining * weights[m] for m in order[len(capped) :]})
    return shares, denominator


def dynamic_shares(pool: int, caps: Mapping[str, int]) -> Scaled:
    """Exact shares pro rata to consumption; never above a cap."""
    total = sum(caps.values())
    if pool <= 0 or total <= 0:
        return {}, 1
    if pool >= total:
        return {m: cap for m, cap in caps.items() if cap > 0}, 1
    return {m: cap * pool for m, cap in caps.items() if cap > 0}, total


def allocate(community: Community, qh: QuarterHourInput) -> QuarterHourAllocation:
    """Allocate the quarter-hour starting at `qh.start` (see the module docstring)."""
    active = community.active_members(qh.start)
    missing = _missing(community, active, qh)
    remaining = {m.member_id: qh.consumption[m.member_id] for m in active if _metered(m, qh)}
    received = dict.fromkeys(remaining, 0)
    from_plants: dict[tuple[str, str], int] = {}
    plant_supplied: dict[str, int] = {}
    sources: dict[tuple[str, str], int] = {}  # (kind, id) -> Wh in the pool
    for plant in sorted(community.plants, key=lambda p: p.plant_id):
        output = max(0, qh.plant_output.get(plant.plant_id, 0))
        if plant.co_owned:
            given = _co_owner_stage(plant, output, remaining)
            for owner, wh in given.items():
                from_plants[(plant.plant_id, owner)] = wh
                received[owner] += wh
                remaining[owner] -= wh
            plant_supplied[plant.plant_id] = sum(given.values())
            output -= plant_supplied[plant.plant_id]
        else:
            plant_supplied[plant.plant_id] = 0
        sources[("plant", plant.plant_id)] = output
    for member in active:
        sources[("member", member.member_id)] = max(0, qh.injection.get(member.member_id, 0))
    pool = sum(sources.values())
    pooled = _pool_stage(community, active, pool, remaining)
    for member_id, wh in pooled.items():
        received[member_id] += wh
    member_supplied = dict.fromkeys((m.member_id for m in active), 0)
    for (kind, source_id), wh in _attribute(sum(pooled.values()), sources).items():
        target = plant_supplied if kind == "plant" else member_supplied
        target[source_id] += wh
    shared = sum(sources.values()) + sum(from_plants.values())
    return QuarterHourAllocation(
        start=qh.start,
        shared_wh=shared,
        received=received,
        from_plants=from_plants,
        member_supplied=member_supplied,
        plant_supplied=plant_supplied,
        remainder_wh=shared - sum(received.values()),
        missing=missing,
    )


def _metered(member: Member, qh: QuarterHourInput) -> bool:
    return member.member_id in qh.consumption and qh.consumption[member.member_id] >= 0


def _missing(
    community: Community, active: Sequence[Member], qh: QuarterHourInput
) -> tuple[str, ...]:
    missing = [f"consumption:{m.member_id}" for m in active if not _metered(m, qh)]
    missing += [
        f"injection:{m.member_id}"
        for m in active
        if m.injection_point is not None and m.member_id not in qh.injection
    ]
    missing += [
        f"plant:{p.plant_id}" for p in community.plants if p.plant_id not in qh.plant_output
    ]
    return tuple(sorted(missing))


def _co_owner_stage(plant: Plant, output: int, remaining: Mapping[str, int]) -> dict[str, int]:
    caps = {owner: remaining[owner] for owner in plant.owners if owner in remaining}
    return round_scaled(*static_shares(output, caps, plant.owners, redistribute=False))


def _pool_stage(
    community: Community, active: Sequence[Member], pool: int, remaining: Mapping[str, int]
) -> dict[str, int]:
    if community.method is Method.MARKET:
        return {}
    if community.method is Method.DYNAMIC:
        return round_scaled(*dynamic_shares(pool, remaining))
    keys = {m.member_id: m.share for m in active if m.member_id in remaining}
    redistribute = community.static_leftover is StaticLeftover.REDISTRIBUTE
    return round_scaled(*static_shares(pool, remaining, keys, redistribute))


def _attribute(used: int, sources: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Which sources the pool's used energy came from: pro rata to what each put in."""
    total = sum(sources.values())
    if used <= 0 or total <= 0:
        return {}
    shares = round_scaled({f"{k}:{i}": used * wh for (k, i), wh in sources.items()}, total)
    return {(k, i): shares[f"{k}:{i}"] for (k, i) in sources}


def split_by_shares(amount: int, shares: Mapping[str, Fraction]) -> dict[str, int]:
    """An integer amount (a co-owned plant's revenue in milli-minor units, or Wh) split by
    shares summing to 1: floors, then the rest one unit each to the largest fractional parts,
    ties by key. The parts always add up to `amount`."""
    return round_exact({key: amount * share for key, share in shares.items()})
