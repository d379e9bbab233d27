"""The community: members, plants, allocation method, and quarter-hours in time.

Times are UTC seconds since the epoch; a quarter-hour is identified by its start. Membership
dates are calendar dates in the community's time zone: a member takes part from 00:00 on
`joined` (inclusive) until 00:00 on `left` (exclusive: `left` is the first day no longer a
member). Static keys and ownership shares are exact fractions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from zoneinfo import ZoneInfo

QH_SECONDS = 900


class Method(StrEnum):
    STATIC = "static"  # a fixed key per member
    DYNAMIC = "dynamic"  # pro rata to the quarter-hour's consumption
    MARKET = "market"  # the hub's auction decides: no allocation here


class StaticLeftover(StrEnum):
    GRID = "grid"  # a capped member's unused share is surplus to the grid (Austrian EEG rule)
    REDISTRIBUTE = "redistribute"  # ...or goes to the uncapped members by their keys


class Direction(StrEnum):
    CONSUMPTION = "consumption"  # energy the metering point drew from the grid
    INJECTION = "injection"  # energy it fed into the grid


class PlantKind(StrEnum):
    PV = "pv"
    BATTERY = "battery"


class CommunityError(ValueError):
    """Bad community configuration or input; the message names the setting or line."""


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    metering_point: str  # consumption point
    joined: date
    left: date | None = None  # exclusive
    share: Fraction = Fraction(1)  # static key, re-normalised over the active members
    injection_point: str | None = None  # where the member's surplus is measured, if any
    hub_meter: str | None = None  # the hub's grid meter key id, for reconciliation


@dataclass(frozen=True, slots=True)
class Plant:
    plant_id: str
    kind: PlantKind
    metering_point: str  # injection point
    owners: Mapping[str, Fraction] = field(default_factory=dict)  # empty: community-owned
    hub_meter: str | None = None

    @property
    def co_owned(self) -> bool:
        return bool(self.owners)


@dataclass(frozen=True, slots=True)
class Community:
    name: str
    method: Method
    members: tuple[Member, ...]
    plants: tuple[Plant, ...] = ()
    static_leftover: StaticLeftover = StaticLeftover.GRID
    timezone: str = "Europe/Vienna"

    def __post_init__(self) -> None:
        validate(self)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def member(self, member_id: str) -> Member:
        for member in self.members:
            if member.member_id == member_id:
                return member
        raise CommunityError(f"unknown member {member_id!r}")

    def local_midnight(self, day: date) -> int:
        return _local_midnight(day, self.timezone)

    def active_members(self, qh_start: int) -> list[Member]:
        """Members taking part in the quarter-hour starting at `qh_start`, by member id."""
        return sorted(
            (m for m in self.members if self._active(m, qh_start)), key=lambda m: m.member_id
        )

    def _active(self, member: Member, qh_start: int) -> bool:
        if qh_start < self.local_midnight(member.joined):
            return False
        return member.left is None or qh_start < self.local_midnight(member.left)

    def metering_points(self) -> dict[str, set[Direction]]:
        """Every configured metering point and the directions the community reads from it."""
        points: dict[str, set[Direction]] = {}
        for member in self.members:
            points.setdefault(member.metering_point, set()).add(Direction.CONSUMPTION)
            if member.injection_point is not None:
                points.setdefault(member.injection_point, set()).add(Direction.INJECTION)
        for plant in self.plants:
            points.setdefault(plant.metering_point, set()).add(Direction.INJECTION)
        return points


def validate(community: Community) -> None:
    """Raise CommunityError naming the first problem: duplicate ids or metering points, a
    member leaving before joining, negative keys, owners who are not members, ownership
    shares that do not sum to exactly 1."""
    member_ids = [m.member_id for m in community.members]
    for item_id in [*member_ids, *(p.plant_id for p in community.plants)]:
        if not item_id or any(c in item_id for c in ": \t\n,"):
            raise CommunityError(f"id {item_id!r}: use letters, digits, - or _ (no : , or spaces)")
    _unique("member id", member_ids)
    if "community" in member_ids:
        raise CommunityError("member id 'community' is reserved for the community's own account")
    _unique("plant id", [p.plant_id for p in community.plants])
    owners_of_points: dict[str, str] = {}
    for member in community.members:
        if member.left is not None and member.left <= member.joined:
            raise CommunityError(
                f"member {member.member_id}: left ({member.left}) must be after joined "
                f"({member.joined})"
            )
        if member.share < 0:
            raise CommunityError(f"member {member.member_id}: share must not be negative")
        for point in {member.metering_point, member.injection_point} - {None}:
            _claim(owners_of_points, str(point), f"member {member.member_id}")
    for plant in community.plants:
        _claim(owners_of_points, plant.metering_point, f"plant {plant.plant_id}")
        _check_owners(plant, set(member_ids))


def _check_owners(plant: Plant, member_ids: set[str]) -> None:
    if not plant.owners:
        return
    for owner, share in plant.owners.items():
        if owner not in member_ids:
            raise CommunityError(f"plant {plant.plant_id}: owner {owner!r} is not a member")
        if share <= 0:
            raise CommunityError(f"plant {plant.plant_id}: owner {owner}'s share must be > 0")
    total = sum(plant.owners.values(), Fraction(0))
    if total != 1:
        raise CommunityError(
            f"plant {plant.plant_id}: ownership shares sum to {total} "
            f"({float(total):.6f}), not exactly 1"
        )


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CommunityError(f"duplicate {what} {value!r}")
        seen.add(value)


def _claim(owners: dict[str, str], point: str, who: str) -> None:
    if owners.get(point, who) != who:
        raise CommunityError(f"metering point {point} is used by both {owners[point]} and {who}")
    owners[point] = who


@lru_cache(maxsize=4096)
def _local_midnight(day: date, timezone: str) -> int:
    return int(datetime.combine(day, time(), ZoneInfo(timezone)).timestamp())


def quarter_hours(start: int, end: int) -> Iterator[int]:
    """Starts of the quarter-hours in [start, end); both must be quarter-hour aligned."""
    if start % QH_SECONDS or end % QH_SECONDS:
        raise CommunityError("period bounds must be on a quarter-hour")
    return iter(range(start, end, QH_SECONDS))


def month_bounds(year: int, month: int, timezone: str) -> tuple[int, int]:
    """[start, end) of a calendar month in the community's time zone, in UTC seconds."""
    zone = ZoneInfo(timezone)
    first = datetime(year, month, 1, tzinfo=zone)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return int(first.timestamp()), int(following.timestamp())


def iso_utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
