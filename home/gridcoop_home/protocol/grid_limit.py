"""A grid limit: the most a home may import from, or export to, the grid during an interval.

The hub sets one when the grid operator dims the neighbourhood (as section 14a EnWG lets a German
DSO dim controllable loads down to 4.2 kW). It travels in the allocation (`grid_limit`, absent:
no limit), so every home learns it with its dispatch. The hub's clearing never allocates a home
more than it; the home's dispatch (`within_grid_limit`) holds its devices to it.

Wire form: `{"import_w": 4200, "export_w": null}`; null (or a missing key) means no limit that
way. Watts are the average over the interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.errors import MALFORMED, ProtocolError

MAX_LIMIT_W = 10**9


@dataclass(frozen=True, slots=True)
class GridLimit:
    import_w: int | None = None
    export_w: int | None = None

    def __post_init__(self) -> None:
        for name in ("import_w", "export_w"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= MAX_LIMIT_W
            ):
                raise ValueError(f"grid_limit.{name} must be null or an integer 0-{MAX_LIMIT_W}")

    def to_wire(self) -> dict[str, Any]:
        return {"import_w": self.import_w, "export_w": self.export_w}

    @classmethod
    def from_wire(cls, data: object) -> GridLimit:
        if not isinstance(data, Mapping):
            raise ProtocolError(MALFORMED, "grid_limit must be an object")
        unknown = sorted(set(data) - {"import_w", "export_w"})
        if unknown:
            raise ProtocolError(MALFORMED, f"grid_limit has unknown fields {unknown}")
        try:
            return cls(data.get("import_w"), data.get("export_w"))
        except ValueError as err:
            raise ProtocolError(MALFORMED, str(err)) from err

    def tighter(self, other: GridLimit) -> GridLimit:
        """Both limits at once: the lower of each."""
        return GridLimit(
            _lower(self.import_w, other.import_w), _lower(self.export_w, other.export_w)
        )

    def energy_wh(self, interval_seconds: int) -> tuple[int | None, int | None]:
        """The limits as energy over an interval (Wh, rounded down)."""
        return (
            None if self.import_w is None else self.import_w * interval_seconds // 3600,
            None if self.export_w is None else self.export_w * interval_seconds // 3600,
        )


def _lower(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


GRID_LIMIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "the most the home may import / export this interval (average W; null: no "
    "limit that way). Absent: no limit.",
    "properties": {
        "import_w": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_LIMIT_W},
        "export_w": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_LIMIT_W},
    },
    "additionalProperties": False,
}
