"""The allocation methods side by side on the same DSO values: how much of the shared
generation the community uses, what goes to the grid, the highest quarter-hour of grid supply,
and each member's energy and (with prices) net amount under each method.

`market` is not compared here: its allocation is the auction's, which needs the members' bids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from hub.community.dso import DsoValues
from hub.community.export import allocations
from hub.community.model import Community, Method, StaticLeftover
from hub.community.statements import Prices, monthly_statement

VARIANTS = (
    ("static", Method.STATIC, StaticLeftover.GRID),
    ("static+redistribute", Method.STATIC, StaticLeftover.REDISTRIBUTE),
    ("dynamic", Method.DYNAMIC, StaticLeftover.GRID),
)


@dataclass(frozen=True, slots=True)
class MethodSummary:
    name: str
    shared_wh: int
    allocated_wh: int
    to_grid_wh: int
    peak_grid_wh: int  # the largest quarter-hour sum of what members still drew from the grid
    received: dict[str, int]  # member id -> Wh over the period
    net_minor: dict[str, int]  # member id -> statement net (empty without prices)

    @property
    def used_share(self) -> float:
        return self.allocated_wh / self.shared_wh if self.shared_wh else 0.0


def compare_methods(
    community: Community, dso: DsoValues, start: int, end: int, prices: Prices | None
) -> list[MethodSummary]:
    return [
        _summary(
            name,
            replace(community, method=method, static_leftover=leftover),
            dso,
            start,
            end,
            prices,
        )
        for name, method, leftover in VARIANTS
    ]


def _summary(
    name: str, community: Community, dso: DsoValues, start: int, end: int, prices: Prices | None
) -> MethodSummary:
    results = list(allocations(community, dso, start, end))
    received: dict[str, int] = {}
    peak = 0
    for qh, result in results:
        for member_id, wh in result.received.items():
            received[member_id] = received.get(member_id, 0) + wh
        grid = sum(qh.consumption.values()) - result.allocated_wh
        peak = max(peak, grid)
    net: dict[str, int] = {}
    if prices is not None:
        statement = monthly_statement(community, prices, iter(results))
        net = {line.member_id: line.net for line in statement.members}
    return MethodSummary(
        name=name,
        shared_wh=sum(r.shared_wh for _, r in results),
        allocated_wh=sum(r.allocated_wh for _, r in results),
        to_grid_wh=sum(r.remainder_wh for _, r in results),
        peak_grid_wh=peak,
        received=received,
        net_minor=net,
    )


def report_lines(summaries: list[MethodSummary]) -> Iterator[str]:
    width = max(len(s.name) for s in summaries)
    yield f"{'method':<{width}}  shared kWh  used kWh  used %  to grid kWh  peak grid Wh/QH"
    for s in summaries:
        yield (
            f"{s.name:<{width}}  {s.shared_wh / 1000:>10.1f}  {s.allocated_wh / 1000:>8.1f}  "
            f"{s.used_share:>6.1%}  {s.to_grid_wh / 1000:>11.1f}  {s.peak_grid_wh:>15}"
        )
    members = sorted(
        {m for s in summaries for m in s.received} | {m for s in summaries for m in s.net_minor}
    )
    yield ""
    yield "received kWh (net, minor units) per member:"
    yield f"{'member':<12}" + "".join(f"  {s.name:>{width + 12}}" for s in summaries)
    for member_id in members:
        cells = []
        for s in summaries:
            net = f" ({s.net_minor[member_id]})" if member_id in s.net_minor else ""
            cells.append(f"  {f'{s.received.get(member_id, 0) / 1000:.1f}{net}':>{width + 12}}")
        yield f"{member_id:<12}" + "".join(cells)
