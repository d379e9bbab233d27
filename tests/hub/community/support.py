"""Small builders for community tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

from hub.community.allocation import QuarterHourInput
from hub.community.model import Community, Member, Method, Plant, PlantKind, StaticLeftover

FEB = date(2028, 2, 1)
NOON = int(datetime(2028, 2, 10, 12, tzinfo=UTC).timestamp())  # a quarter-hour start


def member(
    member_id: str,
    share: Fraction | int = 1,
    joined: date = FEB,
    left: date | None = None,
    injection: bool = False,
    hub_meter: str | None = None,
) -> Member:
    return Member(
        member_id,
        f"AT-{member_id}",
        joined,
        left,
        Fraction(share),
        f"AT-{member_id}-inj" if injection else None,
        hub_meter,
    )


def plant(
    plant_id: str, owners: dict[str, Fraction] | None = None, hub_meter: str | None = None
) -> Plant:
    return Plant(plant_id, PlantKind.PV, f"AT-{plant_id}", owners or {}, hub_meter)


def community(
    method: Method,
    *members: Member,
    plants: tuple[Plant, ...] = (),
    leftover: StaticLeftover = StaticLeftover.GRID,
) -> Community:
    return Community("Lindenhof", method, members, plants, leftover)


def qh(
    consumption: dict[str, int],
    injection: dict[str, int] | None = None,
    plants: dict[str, int] | None = None,
    start: int = NOON,
) -> QuarterHourInput:
    return QuarterHourInput(start, consumption, injection or {}, plants or {})
