"""Data types describing SunSpec point tables (the tables themselves live in models.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PointType(StrEnum):
    """SunSpec point types this reader decodes (names as in the SunSpec JSON models)."""

    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    COUNT = "count"  # uint16 holding the number of repeating groups (model 160 N)
    ACC16 = "acc16"
    ACC32 = "acc32"
    ACC64 = "acc64"
    ENUM16 = "enum16"
    ENUM32 = "enum32"
    BITFIELD16 = "bitfield16"
    BITFIELD32 = "bitfield32"
    SUNSSF = "sunssf"
    STRING = "string"
    PAD = "pad"


# Register count of each fixed-size type; strings carry their own size.
TYPE_SIZE: dict[PointType, int] = {
    PointType.UINT16: 1,
    PointType.INT16: 1,
    PointType.ACC16: 1,
    PointType.ENUM16: 1,
    PointType.BITFIELD16: 1,
    PointType.SUNSSF: 1,
    PointType.PAD: 1,
    PointType.COUNT: 1,
    PointType.UINT32: 2,
    PointType.INT32: 2,
    PointType.ACC32: 2,
    PointType.ENUM32: 2,
    PointType.BITFIELD32: 2,
    PointType.FLOAT32: 2,
    PointType.UINT64: 4,
    PointType.ACC64: 4,
}


@dataclass(frozen=True, slots=True)
class Point:
    """One SunSpec point.

    `offset` counts registers from the first register *after* the model header
    (ID and L), i.e. the same origin as the model length L.
    """

    name: str
    offset: int
    type: PointType
    sf: str | None = None
    units: str | None = None
    size: int = 0  # only needed for strings; other types take it from TYPE_SIZE
    writable: bool = False  # "RW" in the SunSpec definition; the reader itself writes fewer

    @property
    def length(self) -> int:
        return self.size if self.type is PointType.STRING else TYPE_SIZE[self.type]


@dataclass(frozen=True, slots=True)
class ModelDef:
    """A model's point table.

    Models with a repeating group (e.g. 160 MPPT modules) list the fixed points in
    `points` and one instance of the group in `repeat`, with offsets relative to the
    start of that instance; instances follow the fixed block (`fixed_length` registers).
    """

    model_id: int
    name: str
    points: tuple[Point, ...]
    repeat: tuple[Point, ...] = ()
    fixed_length: int = 0
    repeat_length: int = 0

    def __post_init__(self) -> None:
        # A scale factor missing from the table would silently decode as 10**0.
        fixed = {p.name for p in self.points}
        for p in self.points:
            if p.sf is not None and p.sf not in fixed:
                raise ValueError(f"model {self.model_id}: {p.name} scales by unknown {p.sf}")
        in_group = fixed | {p.name for p in self.repeat}
        for p in self.repeat:
            if p.sf is not None and p.sf not in in_group:
                raise ValueError(f"model {self.model_id}: {p.name} scales by unknown {p.sf}")

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise KeyError(f"model {self.model_id} has no point {name!r}")


# Short names for writing point tables.
U16 = PointType.UINT16
I16 = PointType.INT16
U32 = PointType.UINT32
U64 = PointType.UINT64
F32 = PointType.FLOAT32
ACC32 = PointType.ACC32
E16 = PointType.ENUM16
B16 = PointType.BITFIELD16
B32 = PointType.BITFIELD32
COUNT = PointType.COUNT
STR = PointType.STRING


def sf_point(name: str, offset: int) -> Point:
    return Point(name, offset, PointType.SUNSSF)


def consecutive(start: int, type_: PointType, *names_units: tuple[str, str | None]) -> list[Point]:
    """Points of one fixed-size type laid out back to back (the float models are all float32)."""
    step = TYPE_SIZE[type_]
    return [
        Point(name, start + index * step, type_, units=units)
        for index, (name, units) in enumerate(names_units)
    ]
