"""Reconcile the DSO's quarter-hour values with the hub's own signed readings.

For every metering point mapped to a hub meter (`hub_meter` in the configuration) and every
quarter-hour of the period, the DSO value is compared with the hub meter's register delta over
the quarter-hour (import register for consumption, export register for injection; boundaries
by the ledger's rule in hub.ledger.accounts.meters). Listed, never corrected:

- `differs`: both known and |DSO - hub| > tolerance;
- `missing-hub`: a DSO value, but no hub delta (no signed reading around a boundary);
- `missing-dso`: a hub delta, but no DSO value;
- `missing-both`: neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.community.dso import DsoValues
from hub.community.model import Community, Direction, iso_utc, quarter_hours
from hub.ledger.accounts.meters import MeterTimeline

DIFFERS, MISSING_HUB, MISSING_DSO, MISSING_BOTH = (
    "differs",
    "missing-hub",
    "missing-dso",
    "missing-both",
)


@dataclass(frozen=True, slots=True)
class Finding:
    start: int
    metering_point: str
    direction: Direction
    hub_meter: str
    status: str
    dso_wh: int | None
    hub_wh: int | None

    def __str__(self) -> str:
        def show(wh: int | None) -> str:
            return "-" if wh is None else f"{wh} Wh"

        return (
            f"{iso_utc(self.start)}  {self.metering_point} {self.direction}  "
            f"meter {self.hub_meter}  {self.status}: DSO {show(self.dso_wh)}, "
            f"hub {show(self.hub_wh)}"
        )


def mapped_points(community: Community) -> list[tuple[str, Direction, str]]:
    """(metering point, direction, hub meter key id) for everything with a hub meter."""
    mapped: list[tuple[str, Direction, str]] = []
    for member in community.members:
        if member.hub_meter is None:
            continue
        mapped.append((member.metering_point, Direction.CONSUMPTION, member.hub_meter))
        if member.injection_point is not None:
            mapped.append((member.injection_point, Direction.INJECTION, member.hub_meter))
    mapped += [
        (p.metering_point, Direction.INJECTION, p.hub_meter)
        for p in community.plants
        if p.hub_meter is not None
    ]
    return sorted(mapped)


def reconcile(
    community: Community,
    dso: DsoValues,
    timelines: Mapping[str, MeterTimeline],
    start: int,
    end: int,
    tolerance_wh: int,
    max_gap_ms: int,
) -> list[Finding]:
    """Every quarter-hour in [start, end) and mapped metering point that does not agree."""
    findings: list[Finding] = []
    empty = MeterTimeline()
    for point, direction, meter in mapped_points(community):
        timeline = timelines.get(meter, empty)
        for qh in quarter_hours(start, end):
            dso_wh = dso.get((point, direction, qh))
            delta = timeline.delta(qh * 1000, (qh + 900) * 1000, max_gap_ms)
            hub_wh = None if delta is None else delta[direction is Direction.INJECTION]
            status = _status(dso_wh, hub_wh, tolerance_wh)
            if status is not None:
                findings.append(Finding(qh, point, direction, meter, status, dso_wh, hub_wh))
    return sorted(findings, key=lambda f: (f.start, f.metering_point, f.direction))


def _status(dso_wh: int | None, hub_wh: int | None, tolerance_wh: int) -> str | None:
    if dso_wh is None:
        return MISSING_BOTH if hub_wh is None else MISSING_DSO
    if hub_wh is None:
        return MISSING_HUB
    return DIFFERS if abs(dso_wh - hub_wh) > tolerance_wh else None
