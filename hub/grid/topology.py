"""The radial tree behind a feeder: bus order, parents and subtree ranges for vectorised sweeps.

Buses are numbered by their position in a depth-first preorder from the transformer bus
(position 0). Every bus then owns one branch, the one feeding it: the transformer for the root,
its parent line for every other bus. The subtree of position i is the contiguous range
[i, end[i]), so sums over subtrees and sums along paths become cumulative sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hub.grid.errors import FeederError

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class RadialTree:
    bus_ids: tuple[int, ...]  # bus id at each position, preorder from the root
    position: dict[int, int]  # bus id -> position
    parent: IntArray  # parent position, -1 for the root
    end: IntArray  # subtree of position i is [i, end[i])
    line_index: IntArray  # index of the line feeding each position into the feeder's lines; -1 root

    @property
    def size(self) -> int:
        return len(self.bus_ids)

    def path(self, position: int) -> list[int]:
        """Positions from the root down to `position`, both included."""
        path = []
        while position >= 0:
            path.append(position)
            position = int(self.parent[position])
        return path[::-1]


def build_tree(
    bus_ids: Sequence[int], edges: Sequence[tuple[str, int, int]], root: int
) -> RadialTree:
    """Check that `edges` (name, from bus, to bus) form a tree over `bus_ids` and index it.

    Raises FeederError naming the line that closes a loop or the bus that cannot be reached.
    """
    _check_no_loop(bus_ids, edges)
    neighbours: dict[int, list[tuple[int, int]]] = {bus: [] for bus in bus_ids}
    for index, (_name, a, b) in enumerate(edges):
        neighbours[a].append((b, index))
        neighbours[b].append((a, index))

    order: list[int] = []
    parent: list[int] = []
    line_index: list[int] = []
    seen = {root}
    # Iterative depth-first preorder; children are visited in file order for determinism.
    stack: list[tuple[int, int, int]] = [(root, -1, -1)]
    while stack:
        bus, parent_position, via = stack.pop()
        order.append(bus)
        parent.append(parent_position)
        line_index.append(via)
        here = len(order) - 1
        for neighbour, index in reversed(neighbours[bus]):
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append((neighbour, here, index))
    for bus in bus_ids:
        if bus not in seen:
            raise FeederError(f"bus {bus}", f"is not connected to the transformer bus {root}")

    size = len(order)
    end = np.arange(1, size + 1, dtype=np.int64)
    parents = np.array(parent, dtype=np.int64)
    for position in range(size - 1, 0, -1):  # children come after parents in preorder
        up = parents[position]
        end[up] = max(end[up], end[position])
    return RadialTree(
        bus_ids=tuple(order),
        position={bus: position for position, bus in enumerate(order)},
        parent=parents,
        end=end,
        line_index=np.array(line_index, dtype=np.int64),
    )


def _check_no_loop(bus_ids: Sequence[int], edges: Sequence[tuple[str, int, int]]) -> None:
    root_of = {bus: bus for bus in bus_ids}

    def find(bus: int) -> int:
        while root_of[bus] != bus:
            root_of[bus] = root_of[root_of[bus]]
            bus = root_of[bus]
        return bus

    for name, a, b in edges:
        if a == b:
            raise FeederError(f"line {name!r}", f"connects bus {a} to itself")
        ra, rb = find(a), find(b)
        if ra == rb:
            raise FeederError(
                f"line {name!r}",
                f"closes a loop: buses {a} and {b} are already connected (feeders must be radial)",
            )
        root_of[ra] = rb
