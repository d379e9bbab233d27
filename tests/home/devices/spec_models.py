"""SunSpec model bodies built from the official definitions, as an independent reference.

`spec_points.json` (see make_spec_points.py) records, for every point the reader decodes,
what the SunSpec Alliance's JSON definition says: offset, type, size, scale factor, units.
`encode` lays out a model body from that record alone, with its own encoding of every
type and of the "not implemented" values the SunSpec information model reserves, so the
reader's tables and decoder are checked against the definitions rather than against
themselves. Every point not given a value is sent as "not implemented".
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

Number = int | float | Decimal
SpecValue = Number | str | None


@dataclass(frozen=True)
class SpecPoint:
    name: str
    offset: int
    type: str
    size: int
    sf: str | None
    units: str | None
    access: str


@dataclass(frozen=True)
class SpecGroup:
    length: int
    points: dict[str, SpecPoint]


@dataclass(frozen=True)
class SpecModel:
    model_id: int
    fixed: SpecGroup
    repeat: SpecGroup | None


def _group(raw: Mapping[str, object]) -> SpecGroup:
    points = [SpecPoint(*row) for row in raw["points"]]  # type: ignore[attr-defined]
    return SpecGroup(int(raw["length"]), {p.name: p for p in points})  # type: ignore[call-overload]


def _load() -> dict[int, SpecModel]:
    data = json.loads((Path(__file__).parent / "spec_points.json").read_text())
    raw_models: dict[str, dict[str, object]] = data["models"]
    models: dict[int, SpecModel] = {}
    for key, raw in raw_models.items():
        source = raw_models[str(raw["same_as"])] if "same_as" in raw else raw
        repeat = source.get("repeat")
        models[int(key)] = SpecModel(
            int(key), _group(source), _group(repeat) if isinstance(repeat, dict) else None
        )
    return models


SPEC = _load()

# Legal raw ranges per type: the reserved "not implemented" value lies outside each range.
RAW_RANGE: dict[str, tuple[int, int]] = {
    "int16": (-0x7FFF, 0x7FFF),
    "sunssf": (-10, 10),
    "uint16": (0, 0xFFFE),
    "count": (0, 0xFFFE),
    "enum16": (0, 0xFFFE),
    "bitfield16": (0, 0xFFFE),
    "acc16": (1, 0xFFFE),
    "int32": (-0x7FFF_FFFF, 0x7FFF_FFFF),
    "uint32": (0, 0xFFFF_FFFE),
    "enum32": (0, 0xFFFF_FFFE),
    "bitfield32": (0, 0xFFFF_FFFE),
    "acc32": (1, 0xFFFF_FFFE),
    "uint64": (0, 2**64 - 2),
    "acc64": (1, 2**64 - 2),
}

# What the SunSpec information model reserves for "not implemented", as unsigned words.
NOT_IMPLEMENTED_WORDS: dict[str, list[int]] = {
    "int16": [0x8000],
    "sunssf": [0x8000],
    "uint16": [0xFFFF],
    "count": [0xFFFF],
    "enum16": [0xFFFF],
    "bitfield16": [0xFFFF],
    "acc16": [0],  # "not accumulated"
    "int32": [0x8000, 0],
    "uint32": [0xFFFF, 0xFFFF],
    "enum32": [0xFFFF, 0xFFFF],
    "bitfield32": [0xFFFF, 0xFFFF],
    "acc32": [0, 0],
    "uint64": [0xFFFF] * 4,
    "acc64": [0] * 4,
    "float32": [0x7FC0, 0x0000],  # NaN
}


def words(value: int, count: int) -> list[int]:
    """Two's complement big-endian 16-bit words."""
    value &= (1 << (16 * count)) - 1
    return [(value >> (16 * (count - 1 - i))) & 0xFFFF for i in range(count)]


def float32_words(value: float) -> list[int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]


def raw_for(value: Number, exponent: int) -> int:
    """The integer a device stores for `value` with scale factor 10**exponent (exactly)."""
    raw = (value if isinstance(value, Decimal) else Decimal(str(value))).scaleb(-exponent)
    assert raw == raw.to_integral_value(), f"{value} is not a multiple of 10^{exponent}"
    return int(raw)


def encode_point(point: SpecPoint, value: SpecValue, exponent: int | None) -> list[int]:
    if value is None:
        if point.type == "string":
            return [0] * point.size
        return list(NOT_IMPLEMENTED_WORDS[point.type])
    if point.type == "string":
        data = str(value).encode("ascii")
        assert len(data) <= 2 * point.size, point.name
        data = data.ljust(2 * point.size, b"\x00")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    assert not isinstance(value, str), point.name
    if point.type == "float32":
        assert math.isfinite(value), point.name
        return float32_words(float(value))
    raw = raw_for(value, exponent) if exponent is not None else value
    assert isinstance(raw, int), (point.name, value)
    low, high = RAW_RANGE[point.type]
    assert low <= raw <= high, f"{point.name}={value} does not fit {point.type}"
    return words(raw, point.size)


def encode_group(
    group: SpecGroup, values: Mapping[str, SpecValue], scales: Mapping[str, SpecValue]
) -> list[int]:
    unknown = set(values) - set(group.points)
    assert not unknown, f"no such points in the definition: {unknown}"
    body = [0] * group.length
    for point in group.points.values():
        value = values.get(point.name)
        exponent = None
        if point.sf is not None and value is not None:
            scale = scales.get(point.sf)
            assert isinstance(scale, int), f"{point.name} needs a value for {point.sf}"
            exponent = scale
        body[point.offset : point.offset + point.size] = encode_point(point, value, exponent)
    return body


def encode(
    model_id: int,
    values: Mapping[str, SpecValue],
    *,
    repeats: tuple[Mapping[str, SpecValue], ...] = (),
) -> list[int]:
    """A model as a device built from the definition would serve it: [ID, L, body...].

    Values are engineering values (a scaled point's integer is derived from its scale
    factor, which must be among `values`; a repeating group's scale factors are in the
    fixed block); absent points are sent as "not implemented".
    """
    spec = SPEC[model_id]
    body = encode_group(spec.fixed, values, values)
    for instance in repeats:
        assert spec.repeat is not None, f"model {model_id} has no repeating group"
        body.extend(encode_group(spec.repeat, instance, values))
    return [model_id, len(body), *body]
