"""An allocation: one home's outcome of one cleared interval.

The one definition of it: the hub builds it from the market's result, stores it, serves it
(`GET /api/v1/results`, the WebSocket's `allocation` message) and records it in the ledger's
`clearing` entry; a home reads it back with `Allocation.from_wire`. Its JSON schema
(gridcoop_home.protocol.schema, "Allocation") lists exactly these fields.

Units: energy in Wh, money in milli-minor units (1/1000 of a minor currency unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any

from gridcoop_home.protocol.dispatch import DispatchCommand
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError
from gridcoop_home.protocol.grid_limit import GridLimit


@dataclass(frozen=True, slots=True)
class Allocation:
    interval_start: int  # UTC seconds
    home_id: str
    bought_local_wh: int
    sold_local_wh: int
    bought_grid_wh: int
    sold_grid_wh: int
    paid_mminor: int  # local and grid purchases with their fees (negative when prices are)
    received_mminor: int  # local and grid sales, fees deducted
    fees_mminor: int  # the local market's fees within paid and received
    bid_digest: str  # the digest of the signed bid this allocation answers
    dispatch: tuple[DispatchCommand, ...]  # what each of the home's devices should do
    curtailed_buy_wh: int = 0  # what the feeder could not carry of what the merit order gave
    curtailed_sell_wh: int = 0
    grid_limit: GridLimit | None = None  # the grid operator's limit for this home; None: none

    def __post_init__(self) -> None:
        if type(self.dispatch) is not tuple:  # any sequence in, a tuple kept (immutable)
            object.__setattr__(self, "dispatch", tuple(self.dispatch))

    def to_wire(self) -> dict[str, Any]:
        # By hand: asdict's generic deep copy costs ~20 us, for hundreds of allocations a clearing.
        wire = {name: getattr(self, name) for name in WIRE_FIELDS}
        wire["dispatch"] = [command.to_wire() for command in self.dispatch]
        if self.grid_limit is None:  # absent, so allocations without one keep their bytes
            del wire["grid_limit"]
        else:
            wire["grid_limit"] = self.grid_limit.to_wire()
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Allocation:
        """An allocation as the hub sends it; ProtocolError `malformed` names what is wrong.
        The curtailment fields may be absent (a hub without a feeder): 0; the grid limit too
        (no limit)."""
        if not isinstance(data, Mapping):
            raise ProtocolError(MALFORMED, "an allocation must be an object")
        unknown = sorted(set(data) - set(WIRE_FIELDS))
        if unknown:
            raise ProtocolError(MALFORMED, f"allocation has unknown fields {unknown}")
        values: dict[str, Any] = {}
        for name in WIRE_FIELDS:
            if name not in data:
                if name not in _DEFAULTS:
                    raise ProtocolError(MALFORMED, f"allocation lacks {name!r}")
                continue
            value = data[name]
            if name == "dispatch":
                values[name] = _dispatch(value)
            elif name == "grid_limit":
                values[name] = None if value is None else GridLimit.from_wire(value)
            elif name in _TEXT:
                if not isinstance(value, str):
                    raise ProtocolError(MALFORMED, f"allocation.{name} must be a string")
                values[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ProtocolError(MALFORMED, f"allocation.{name} must be an integer")
                values[name] = value
        return cls(**values)


def _dispatch(value: object) -> tuple[DispatchCommand, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ProtocolError(MALFORMED, "allocation.dispatch must be a list of commands")
    try:
        return tuple(DispatchCommand.from_wire(command) for command in value)
    except (KeyError, TypeError, ValueError) as err:
        raise ProtocolError(MALFORMED, f"allocation.dispatch holds a bad command: {err}") from err


WIRE_FIELDS = tuple(f.name for f in fields(Allocation))  # in wire and column order
_TEXT = frozenset({"home_id", "bid_digest"})
_DEFAULTS = frozenset(f.name for f in fields(Allocation) if f.default is not MISSING)
