"""The reader's point tables and decoder against the SunSpec Alliance's own model definitions.

`spec_points.json` records what the official JSON definitions say about every point the
reader decodes; `spec_models.encode` builds model bodies from that record alone.
"""

from __future__ import annotations

import random
import struct
from decimal import Decimal

import pytest
from gridcoop_home.devices.sunspec.decode import decode_model
from gridcoop_home.devices.sunspec.models import MODELS
from gridcoop_home.devices.sunspec.points import ModelDef, Point

from .spec_models import RAW_RANGE, SPEC, SpecGroup, SpecPoint, SpecValue, encode

FLOAT32_MAX: float = struct.unpack(">f", bytes.fromhex("7f7fffff"))[0]


def _differences(model_id: int, points: tuple[Point, ...], spec: SpecGroup) -> list[str]:
    found = []
    for p in points:
        s = spec.points.get(p.name)
        if s is None:
            found.append(f"{model_id}.{p.name}: not in the definition")
            continue
        ours = (p.offset, p.type.value, p.length, p.sf, p.units, p.writable)
        theirs = (s.offset, s.type, s.size, s.sf, s.units, s.access == "RW")
        if ours != theirs:
            found.append(f"{model_id}.{p.name}: table {ours} != definition {theirs}")
    return found


def test_every_table_is_recorded_from_the_definitions() -> None:
    assert set(SPEC) == set(MODELS), "regenerate spec_points.json (make_spec_points.py)"


def test_tables_match_the_official_definitions() -> None:
    """Offset, type, size, scale factor, units and access of every point, in every model."""
    problems = []
    for model_id, model in MODELS.items():
        spec = SPEC[model_id]
        problems += _differences(model_id, model.points, spec.fixed)
        if model.repeat:
            assert spec.repeat is not None
            problems += _differences(model_id, model.repeat, spec.repeat)
            assert (model.fixed_length, model.repeat_length) == (
                spec.fixed.length,
                spec.repeat.length,
            )
    assert problems == []


# --- decoding what a device built from the definitions sends --------------------------------


def _scaled(raw: int, exponent: int) -> Decimal:
    return Decimal(raw).scaleb(exponent)


def _pick(point: SpecPoint, rng: random.Random, extreme: str | None) -> int:
    low, high = RAW_RANGE[point.type]
    if point.type == "sunssf":
        low, high = -3, 3  # keeps 64-bit values scaled by them exactly representable
    return {"low": low, "high": high}.get(extreme or "", rng.randint(low, high))


def _float32(rng: random.Random, extreme: str | None) -> float:
    if extreme is not None:
        return -FLOAT32_MAX if extreme == "low" else FLOAT32_MAX
    as_float32: float = struct.unpack(">f", struct.pack(">f", rng.uniform(-1e6, 1e6)))[0]
    return as_float32


def _values(
    group: SpecGroup, rng: random.Random, extreme: str | None, scales: dict[str, SpecValue]
) -> tuple[dict[str, SpecValue], dict[str, object]]:
    """Values to send for every point of `group`, and what the reader should decode."""
    sent: dict[str, SpecValue] = {}
    expected: dict[str, object] = {}
    for point in group.points.values():
        if point.type == "sunssf":
            exponent = _pick(point, rng, extreme)
            sent[point.name] = expected[point.name] = scales[point.name] = exponent
    for point in group.points.values():
        if point.type == "sunssf":
            continue
        if point.type == "string":
            text = "".join(rng.choice("ABCxyz019-") for _ in range(rng.randint(1, 2 * point.size)))
            sent[point.name] = expected[point.name] = text
        elif point.type == "float32":
            sent[point.name] = expected[point.name] = _float32(rng, extreme)
        elif point.sf is None:
            sent[point.name] = expected[point.name] = _pick(point, rng, extreme)
        else:
            scale = scales[point.sf]
            assert isinstance(scale, int)
            value = _scaled(_pick(point, rng, extreme), scale)
            sent[point.name] = value
            expected[point.name] = float(value)
    return sent, expected


def _assert_decoded(decoded: dict[str, object], expected: dict[str, object], where: str) -> None:
    for name, want in expected.items():
        got = decoded[name]
        if isinstance(want, float):
            assert isinstance(got, float), f"{where}.{name}: {got!r}"
            if want == 0.0 or abs(want) > 1e30:  # float32 extremes: compare their bits
                assert struct.pack(">f", got) == struct.pack(">f", want), f"{where}.{name}"
            else:
                assert got == pytest.approx(want, rel=1e-7), f"{where}.{name}: {got} != {want}"
        else:
            assert got == want, f"{where}.{name}: {got!r} != {want!r}"


@pytest.mark.parametrize("model_id", sorted(MODELS))
@pytest.mark.parametrize("extreme", ["low", "high", None])
def test_every_point_decodes_to_the_value_the_definition_encodes(
    model_id: int, extreme: str | None
) -> None:
    """Each type at both ends of its legal range (e.g. a uint16 above 0x7FFF, a negative
    int16) and at random values, with scale factors applied."""
    model: ModelDef = MODELS[model_id]
    spec = SPEC[model_id]
    rng = random.Random(model_id)
    for _ in range(1 if extreme else 20):
        scales: dict[str, SpecValue] = {}
        listed = {p.name for p in model.points}
        fixed = SpecGroup(
            spec.fixed.length, {n: p for n, p in spec.fixed.points.items() if n in listed}
        )
        sent, expected = _values(fixed, rng, extreme, scales)
        instances = []
        expected_instances = []
        if spec.repeat is not None:
            for _ in range(2):
                one, want = _values(spec.repeat, rng, extreme, dict(scales))
                instances.append(one)
                expected_instances.append(want)
        registers = encode(model_id, sent, repeats=tuple(instances))
        decoded = decode_model(model, 40002, registers[2:])
        _assert_decoded(dict(decoded.points), expected, str(model_id))
        assert len(decoded.repeats) == len(expected_instances)
        for index, want in enumerate(expected_instances):
            _assert_decoded(dict(decoded.repeats[index]), want, f"{model_id}[{index}]")


@pytest.mark.parametrize("model_id", sorted(MODELS))
@pytest.mark.parametrize("scale_factors", ["implemented", "not implemented"])
def test_points_a_device_does_not_implement_read_as_none(model_id: int, scale_factors: str) -> None:
    """0x8000 (int16, sunssf), 0xFFFF (uint16, enum16, count...), 0xFFFFFFFF (uint32...),
    0 (acc32: "not accumulated"), NaN (float32), all-NUL strings: with valid scale factors
    too, so a sentinel cannot hide behind a missing scale factor."""
    spec = SPEC[model_id]
    sfs = {n for n, p in spec.fixed.points.items() if p.type == "sunssf"}
    values: dict[str, SpecValue] = dict.fromkeys(sfs, 0) if scale_factors == "implemented" else {}
    repeats: tuple[dict[str, SpecValue], ...] = ({},) if spec.repeat is not None else ()
    decoded = decode_model(MODELS[model_id], 40002, encode(model_id, values, repeats=repeats)[2:])
    assert {k: v for k, v in decoded.points.items() if v is not None} == values
    for instance in decoded.repeats:
        assert {k: v for k, v in instance.items() if v is not None} == {}


def test_model_701_signs_as_in_the_definition() -> None:
    """PF is signed, the voltages unsigned (the issue's example device)."""
    registers = encode(
        701,
        {"PF": -0.95, "PF_SF": -2, "LLV": 400.0, "VL1": 400.0, "LNV": None, "V_SF": -2},
    )
    points = decode_model(MODELS[701], 0, registers[2:]).points
    assert points["PF"] == -0.95
    assert points["LLV"] == 400.0
    assert points["VL1"] == 400.0
    assert points["LNV"] is None
