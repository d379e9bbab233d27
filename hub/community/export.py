"""Allocations over a period from stored DSO values, and the per-member CSV for the supplier and
the DSO (one row per member taking part and quarter-hour; columns in docs/community.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from hub.community.allocation import QuarterHourAllocation, QuarterHourInput, allocate
from hub.community.dso import DsoValues
from hub.community.model import QH_SECONDS, Community, Direction, iso_utc, quarter_hours

COLUMNS = [
    "start",
    "end",
    "member_id",
    "metering_point",
    "consumption_wh",
    "received_wh",
    "from_co_owned_plants_wh",
    "grid_wh",
    "injection_wh",
    "given_wh",
    "missing",
]


def inputs_for(community: Community, dso: DsoValues, qh: int) -> QuarterHourInput:
    """One quarter-hour's DSO values by member and plant; values absent stay absent."""
    consumption: dict[str, int] = {}
    injection: dict[str, int] = {}
    for member in community.active_members(qh):
        value = dso.get((member.metering_point, Direction.CONSUMPTION, qh))
        if value is not None:
            consumption[member.member_id] = value
        if member.injection_point is not None:
            value = dso.get((member.injection_point, Direction.INJECTION, qh))
            if value is not None:
                injection[member.member_id] = value
    plants = {
        plant.plant_id: dso[key]
        for plant in community.plants
        if (key := (plant.metering_point, Direction.INJECTION, qh)) in dso
    }
    return QuarterHourInput(qh, consumption, injection, plants)


def allocations(
    community: Community, dso: DsoValues, start: int, end: int
) -> Iterator[tuple[QuarterHourInput, QuarterHourAllocation]]:
    for qh in quarter_hours(start, end):
        qh_input = inputs_for(community, dso, qh)
        yield qh_input, allocate(community, qh_input)


def allocation_csv(community: Community, dso: DsoValues, start: int, end: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for qh_input, result in allocations(community, dso, start, end):
        times = [iso_utc(qh_input.start), iso_utc(qh_input.start + QH_SECONDS)]
        from_plants: dict[str, int] = {}
        for (_, owner), wh in result.from_plants.items():
            from_plants[owner] = from_plants.get(owner, 0) + wh
        for member in community.active_members(qh_input.start):
            row = _row(member.member_id, qh_input, result, from_plants.get(member.member_id, 0))
            writer.writerow([*times, member.member_id, member.metering_point, *row])
    return out.getvalue()


def _row(
    member_id: str, qh: QuarterHourInput, result: QuarterHourAllocation, from_plants: int
) -> list[str | int]:
    consumption = qh.consumption.get(member_id)
    received = result.received.get(member_id, 0)
    own_missing = [
        kind for kind in ("consumption", "injection") if f"{kind}:{member_id}" in result.missing
    ]
    return [
        "" if consumption is None else consumption,
        received,
        from_plants,
        "" if consumption is None else consumption - received,
        qh.injection.get(member_id, ""),
        result.member_supplied.get(member_id, 0),
        " ".join(own_missing),
    ]
