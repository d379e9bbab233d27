"""A grid limit: the most a home may import from, or export to, the grid during an interval.

The hub sets one when the grid operator dims the neighbourhood (as section 14a EnWG lets a German
DSO dim controllable loads down to 4.2 kW). It travels in the allocation (`grid_limit`, absent:
no limit), so every home learns it with its dispatch. The hub's clearing never allocates a home
more than it; the home's dispatch (`within_grid_limit`) holds its devices to it: the EV, the
battery and flexible loads give way first (PV and the battery when exporting), and what the owner
switched on by hand (`fixed`) is never switched off.

Wire form: `{"import_w": 4200, "export_w": null}`; null (or a missing key) means no limit that
way. Watts are the average over the interval.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.dispatch import DispatchCommand, is_load
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


# --- the home's side: hold the devices to the limit ----------------------------------------------

# Which devices give way first when the home would import beyond its limit: the EV, the battery,
# then flexible loads (whole); when it would export beyond it: the battery, then the PV.
IMPORT_ORDER = ("ev", "battery", "load:")
EXPORT_ORDER = ("battery", "pv")


def net_power_w(commands: Sequence[DispatchCommand], other_w: float = 0.0) -> float:
    """The home's expected net import (W, - exports) with these commands: `other_w` (what no
    command controls, e.g. the base load) plus each device's setpoint, PV producing its power."""
    return other_w + sum(_signed(c) for c in commands)


def within_grid_limit(
    commands: Sequence[DispatchCommand],
    limit: GridLimit | None,
    other_w: float = 0.0,
    fixed: Collection[str] = (),
) -> list[DispatchCommand]:
    """The commands with the home's net import (export) held within the limit, controllable
    devices giving way in IMPORT_ORDER (EXPORT_ORDER). Devices in `fixed` (the owner's, changed
    by hand) are never reduced; their power still counts. When the limit cannot be met by the
    controllable devices alone, they give all they can. Each changed command says why."""
    if limit is None:
        return list(commands)
    result = list(commands)
    net = net_power_w(result, other_w)
    if limit.import_w is not None and net > limit.import_w:
        _give_way(result, net - limit.import_w, IMPORT_ORDER, fixed, limit.import_w, importing=True)
    if limit.export_w is not None and -net > limit.export_w:
        _give_way(
            result, -net - limit.export_w, EXPORT_ORDER, fixed, limit.export_w, importing=False
        )
    return result


def _give_way(
    commands: list[DispatchCommand],
    excess: float,
    order: Sequence[str],
    fixed: Collection[str],
    limit_w: int,
    *,
    importing: bool,
) -> None:
    for prefix in order:
        for index, command in enumerate(commands):
            if excess <= 0:
                return
            if not command.device.startswith(prefix) or command.device in fixed:
                continue
            power = _signed(command) if importing else -_signed(command)
            if power <= 0:
                continue
            whole = is_load(command.device)  # a load runs whole or not at all
            cut = power if whole else min(power, math.ceil(excess))
            commands[index] = _reduced(command, power - cut, limit_w, importing)
            excess -= cut


def _reduced(
    command: DispatchCommand, kept_w: float, limit_w: int, importing: bool
) -> DispatchCommand:
    kept = int(kept_w)
    energy = command.energy_wh * kept // command.power_w if command.power_w else 0
    action = command.action
    if kept == 0:
        action = {"battery": "idle", "ev": "pause", "pv": "curtail"}.get(command.device, "defer")
    elif command.device == "pv":
        action = "curtail"
    way = "import" if importing else "export"
    why = f"{command.reason}; grid {way} limit {limit_w} W: from {command.power_w} W to {kept} W"
    return DispatchCommand(command.device, action, kept, energy, why)


def _signed(command: DispatchCommand) -> float:
    if command.device == "pv":
        return -float(command.power_w)
    return float(command.signed_power_w)
