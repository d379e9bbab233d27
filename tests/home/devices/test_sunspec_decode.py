"""Decoder rules that are easier to pin down without a server."""

from __future__ import annotations

import pytest
from gridcoop_home.devices.sunspec.decode import apply_scale, decode_model, encode_scaled, raw_value
from gridcoop_home.devices.sunspec.errors import OutOfRangeError
from gridcoop_home.devices.sunspec.models import MODELS
from gridcoop_home.devices.sunspec.points import ModelDef, Point, PointType

from . import register_maps as rm


def test_signed_and_not_implemented_raw_values() -> None:
    int16 = Point("x", 0, PointType.INT16)
    assert raw_value(int16, [0xFFFE]) == -2
    assert raw_value(int16, [0x8000]) is None
    assert raw_value(Point("u", 0, PointType.UINT16), [0xFFFF]) is None
    assert raw_value(Point("e", 0, PointType.ENUM16), [0xFFFF]) is None
    assert raw_value(Point("s", 0, PointType.SUNSSF), [0x8000]) is None
    assert raw_value(Point("a", 0, PointType.ACC32), [0xFFFF, 0xFFFF]) is None
    assert raw_value(Point("u32", 0, PointType.UINT32), [0xFFFF, 0xFFFF]) is None
    assert raw_value(Point("i32", 0, PointType.INT32), [0x8000, 0x0000]) is None
    assert raw_value(Point("u64", 0, PointType.UINT64), [0xFFFF] * 4) is None


def test_accumulator_zero_is_not_accumulated() -> None:
    # The SunSpec information model reserves 0 for "not accumulated"; all ones is what many
    # devices send for a counter they lack. Everything in between is a count.
    acc32 = Point("a", 0, PointType.ACC32)
    assert raw_value(acc32, [0, 0]) is None
    assert raw_value(acc32, [0xFFFF, 0xFFFF]) is None
    assert raw_value(acc32, [0, 1]) == 1
    assert raw_value(acc32, [0xFFFF, 0xFFFE]) == 0xFFFF_FFFE


def test_float32_nan_and_infinity_are_none_and_values_keep_float32_precision() -> None:
    f32 = Point("f", 0, PointType.FLOAT32)
    assert raw_value(f32, [0x7FC0, 0x0000]) is None  # NaN, the SunSpec "not implemented"
    assert raw_value(f32, [0x7F80, 0x0000]) is None  # +inf
    assert raw_value(f32, [0x4366, 0x199A]) == 230.1  # not 230.10000610351562
    assert raw_value(f32, [0xC2C8, 0x0000]) == -100.0


def test_strings_strip_nul_padding_and_empty_is_none() -> None:
    assert raw_value(Point("s", 0, PointType.STRING, size=4), rm.text("SMA", 4)) == "SMA"
    assert raw_value(Point("s", 0, PointType.STRING, size=4), [0, 0, 0, 0]) is None


def test_scale_keeps_decimal_values_exact() -> None:
    assert apply_scale(2301, -1) == 230.1
    assert apply_scale(5001, -2) == 50.01
    assert apply_scale(3124, 1) == 31240.0


def test_invalid_or_missing_scale_factor_makes_value_none() -> None:
    table = ModelDef(
        9, "t", (Point("W", 0, PointType.INT16, "W_SF"), Point("W_SF", 1, PointType.SUNSSF))
    )
    assert decode_model(table, 0, [100, 0x8000]).points["W"] is None
    assert decode_model(table, 0, [100, 11]).points["W"] is None  # outside -10..10
    assert decode_model(table, 0, [100, 0xFFFF]).points["W"] == 10.0


def test_points_beyond_a_short_model_are_none_and_missing_sf_means_unscaled() -> None:
    # Model 713 as published has L=6 (no Pct_SF): SoC is read unscaled.
    values = decode_model(MODELS[713], 0, rm.CAPACITY_713[2:])
    assert values.points["SoC"] == 56.0
    assert values.points["Pct_SF"] is None
    assert decode_model(MODELS[1], 0, [0] * 10).points["SN"] is None


def test_encode_scaled_checks_register_range() -> None:
    pct = MODELS[123].point("WMaxLimPct")
    assert encode_scaled(50.0, -2, pct) == 5000
    with pytest.raises(OutOfRangeError):
        encode_scaled(700.0, -2, pct)  # 70000 does not fit uint16
    rate = MODELS[124].point("InWRte")
    assert encode_scaled(-50.0, -2, rate) == (-5000) & 0xFFFF
    with pytest.raises(OutOfRangeError):
        encode_scaled(float("nan"), -2, rate)


def test_every_table_fits_its_published_length() -> None:
    lengths = {1: 66, 103: 50, 120: 26, 123: 24, 124: 24, 203: 105, 701: 153, 713: 7, 802: 62}
    for model_id, length in lengths.items():
        for point in MODELS[model_id].points:
            assert point.offset + point.length <= length, (model_id, point.name)
        names = [p.name for p in MODELS[model_id].points]
        assert len(names) == len(set(names)), model_id
    for p in MODELS[160].repeat:
        assert p.offset + p.length <= MODELS[160].repeat_length
