"""Turn raw SunSpec registers into typed, scaled values (and scaled values back into registers)."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import OutOfRangeError
from .points import ModelDef, Point, PointType

Value = int | float | str | None

_U16_NI = 0xFFFF
_U32_NI = 0xFFFF_FFFF
_U64_NI = 0xFFFF_FFFF_FFFF_FFFF

# Raw values SunSpec reserves for "not implemented" (float32: NaN, strings: all NUL).
NOT_IMPLEMENTED: dict[PointType, int] = {
    PointType.UINT16: _U16_NI,
    PointType.COUNT: _U16_NI,
    PointType.ENUM16: _U16_NI,
    PointType.BITFIELD16: _U16_NI,
    PointType.INT16: 0x8000,
    PointType.SUNSSF: 0x8000,
    PointType.UINT32: _U32_NI,
    PointType.ENUM32: _U32_NI,
    PointType.BITFIELD32: _U32_NI,
    PointType.INT32: 0x8000_0000,
    PointType.UINT64: _U64_NI,
}

# Accumulators: the spec's "not accumulated" is 0. Many devices send all ones for a counter
# they do not implement (a real counter almost never holds exactly that), so both are missing.
_ACCUMULATORS = {PointType.ACC16: _U16_NI, PointType.ACC32: _U32_NI, PointType.ACC64: _U64_NI}

_SIGNED_BITS = {PointType.INT16: 16, PointType.SUNSSF: 16, PointType.INT32: 32}

# SunSpec limits scale factors to -10..10; anything else is a corrupt register.
_SF_RANGE = range(-10, 11)


@dataclass(frozen=True, slots=True)
class ModelValues:
    """One decoded model instance as read from a device."""

    model_id: int
    name: str
    address: int  # Modbus address of the model's ID register
    length: int  # L: registers after the two header registers
    points: Mapping[str, Value]
    repeats: tuple[Mapping[str, Value], ...] = ()
    registers: tuple[int, ...] = field(default=(), repr=False)  # raw body, for write snapshots

    @property
    def body_address(self) -> int:
        return self.address + 2

    def number(self, name: str) -> float | None:
        """The point as a float, or None if it is missing, not implemented or not numeric."""
        value = self.points.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)


def _join(regs: Sequence[int]) -> int:
    result = 0
    for reg in regs:
        result = (result << 16) | (reg & 0xFFFF)
    return result


def _decode_string(regs: Sequence[int]) -> str | None:
    data = b"".join(reg.to_bytes(2, "big") for reg in regs)
    # Devices pad with NULs or spaces; an all-NUL string means "not implemented".
    text = data.split(b"\x00", 1)[0].decode("latin-1").strip()
    return text or None


def _decode_float32(regs: Sequence[int]) -> float | None:
    packed = struct.pack(">HH", regs[0] & 0xFFFF, regs[1] & 0xFFFF)
    value: float = struct.unpack(">f", packed)[0]
    if not math.isfinite(value):
        return None  # NaN is "not implemented"; an infinity is no measurement either
    # The shortest decimal with the same float32 bits: 230.1, not 230.10000610351562.
    for digits in range(6, 10):  # nine significant digits always round-trip a float32
        shorter = float(f"{value:.{digits}g}")
        if struct.pack(">f", shorter) == packed:
            return shorter
    return value


RawValue = int | float | str | None


def raw_value(point: Point, regs: Sequence[int]) -> RawValue:
    """Unscaled value of `point` from the model body `regs`; None if not implemented or absent."""
    end = point.offset + point.length
    if end > len(regs):
        return None  # the device implements a shorter revision of the model
    window = regs[point.offset : end]
    if point.type is PointType.STRING:
        return _decode_string(window)
    if point.type is PointType.PAD:
        return None
    if point.type is PointType.FLOAT32:
        return _decode_float32(window)
    raw = _join(window)
    if point.type in _ACCUMULATORS:
        return None if raw in (0, _ACCUMULATORS[point.type]) else raw
    if raw == NOT_IMPLEMENTED[point.type]:
        return None
    bits = _SIGNED_BITS.get(point.type)
    if bits is not None and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return raw


def apply_scale(raw: int, exponent: int) -> float:
    # Dividing by a power of ten keeps 2301 * 10**-1 printing as 230.1, not 230.10000000000002.
    factor: int = 10 ** abs(exponent)
    return raw / factor if exponent < 0 else float(raw * factor)


def _scale_exponent(
    sf_name: str, *scopes: tuple[Mapping[str, Point], Mapping[str, RawValue]]
) -> int | None:
    for table, raws in scopes:
        if sf_name in table:
            if sf_name not in raws:
                return 0  # beyond the device's L: an older revision without this factor
            exponent = raws[sf_name]
            if not isinstance(exponent, int) or exponent not in _SF_RANGE:
                return None
            return exponent
    return 0


def _decode_group(
    points: Sequence[Point],
    regs: Sequence[int],
    outer: tuple[Mapping[str, Point], Mapping[str, RawValue]] | None = None,
) -> tuple[dict[str, Value], dict[str, RawValue]]:
    table = {p.name: p for p in points}
    raws = {p.name: raw_value(p, regs) for p in points if p.offset + p.length <= len(regs)}
    scopes: list[tuple[Mapping[str, Point], Mapping[str, RawValue]]] = [(table, raws)]
    if outer is not None:
        scopes.append(outer)
    values: dict[str, Value] = {}
    for p in points:
        if p.type is PointType.PAD:
            continue
        raw = raws.get(p.name)
        if p.sf is None or not isinstance(raw, int):
            values[p.name] = raw
            continue
        exponent = _scale_exponent(p.sf, *scopes)
        values[p.name] = None if exponent is None else apply_scale(raw, exponent)
    return values, raws


def decode_model(model: ModelDef, address: int, body: Sequence[int]) -> ModelValues:
    """Decode a model body (the L registers after ID and L) read from `address`."""
    fixed_regs = body[: model.fixed_length] if model.repeat else body
    values, raws = _decode_group(model.points, fixed_regs)
    repeats: list[Mapping[str, Value]] = []
    if model.repeat and model.repeat_length:
        outer = ({p.name: p for p in model.points}, raws)
        count = max(0, (len(body) - model.fixed_length) // model.repeat_length)
        for index in range(count):
            start = model.fixed_length + index * model.repeat_length
            group, _ = _decode_group(model.repeat, body[start : start + model.repeat_length], outer)
            repeats.append(group)
    return ModelValues(
        model_id=model.model_id,
        name=model.name,
        address=address,
        length=len(body),
        points=values,
        repeats=tuple(repeats),
        registers=tuple(body),
    )


def scale_exponent_of(values: ModelValues, model: ModelDef, sf_name: str) -> int | None:
    """The scale-factor exponent named `sf_name` in a decoded model (for encoding writes)."""
    point = model.point(sf_name)
    if point.offset + point.length > len(values.registers):
        return 0
    raw = raw_value(point, values.registers)
    if not isinstance(raw, int) or raw not in _SF_RANGE:
        return None
    return raw


def encode_scaled(value: float, exponent: int, point: Point) -> int:
    """Register value for writing `value` (engineering units) to a 16-bit point."""
    if not math.isfinite(value):
        raise OutOfRangeError(f"{point.name}: {value} is not a finite number")
    factor: int = 10 ** abs(exponent)
    raw = round(value / factor) if exponent >= 0 else round(value * factor)
    if point.type is PointType.INT16:
        low, high = -0x7FFF, 0x7FFF  # 0x8000 would read back as "not implemented"
    elif point.type in (PointType.UINT16, PointType.ENUM16, PointType.BITFIELD16):
        low, high = 0, 0xFFFE
    else:
        raise OutOfRangeError(f"cannot encode {point.name}: type {point.type} is not writable")
    if not low <= raw <= high:
        raise OutOfRangeError(
            f"{point.name}={value} does not fit a {point.type} register with scale 10^{exponent}"
        )
    return raw & 0xFFFF
