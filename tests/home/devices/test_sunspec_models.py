"""Reading devices whose models are built from the SunSpec definitions (spec_models.encode)."""

from __future__ import annotations

import pytest
from gridcoop_home.devices.sunspec import SunSpecDevice, UnsupportedModelError

from . import register_maps as rm
from .conftest import serve
from .spec_models import encode

COMMON = rm.common("GridCoop Test", "Spec device", "1.0", "SPEC-0001")


def _device(port: int) -> SunSpecDevice:
    return SunSpecDevice("127.0.0.1", port, timeout_s=1.0)


async def test_der_701_power_factor_is_signed_and_voltages_unsigned() -> None:
    der = encode(
        701,
        {
            "W": 4520,
            "W_SF": 0,
            "PF": -0.95,
            "PF_SF": -2,
            "LLV": 400.0,
            "VL1": 400.1,
            "VL2": 399.9,
            "VL3": 400.0,
            "LNV": None,  # not implemented: 0xFFFF
            "V_SF": -1,
            "InvSt": 4,
        },
    )
    async with serve(rm.build(0, COMMON, der)) as fake, _device(fake.port) as device:
        values = await device.read_model(701)
        reading = await device.read_inverter()
    assert values.points["PF"] == -0.95
    assert values.points["LLV"] == 400.0
    assert (values.points["VL1"], values.points["VL2"]) == (400.1, 399.9)
    assert values.points["LNV"] is None
    assert reading.ac_voltage_v is None  # LNV, not a negative voltage
    assert reading.ac_power_w == 4520


@pytest.mark.parametrize("model_id", [111, 112, 113])
async def test_float_inverters_are_read(model_id: int) -> None:
    inverter = encode(
        model_id,
        {
            "W": 4321.5,
            "WH": 1_234_567.0,
            "PhVphA": 230.1,
            "Hz": 50.02,
            "DCW": None,  # NaN: not implemented
            "TmpCab": 41.5,
            "St": 4,
        },
    )
    async with serve(rm.build(40000, COMMON, inverter)) as fake, _device(fake.port) as device:
        reading = await device.read_inverter()
    assert reading.source_model == model_id
    assert reading.ac_power_w == 4321.5
    assert reading.energy_wh_total == 1_234_567.0
    assert reading.ac_voltage_v == 230.1
    assert reading.frequency_hz == 50.02
    assert reading.dc_power_w is None
    assert reading.temperature_c == 41.5
    assert reading.operating_state == "mppt"


@pytest.mark.parametrize("model_id", [211, 212, 213, 214])
async def test_float_meters_are_read(model_id: int) -> None:
    meter = encode(
        model_id,
        {
            "W": -2450.5,
            "WphA": -800.25,
            "WphB": -850.0,
            "WphC": None,
            "TotWhImp": 3_201_550.0,
            "TotWhExp": 8_523_100.0,
            "PhV": 230.4,
            "Hz": 49.98,
        },
    )
    async with serve(rm.build(40000, COMMON, meter)) as fake, _device(fake.port) as device:
        reading = await device.read_meter()
    assert reading.source_model == model_id
    assert reading.power_w == -2450.5
    assert reading.phase_power_w == (-800.25, -850.0, None)
    assert (reading.import_wh, reading.export_wh) == (3_201_550.0, 8_523_100.0)
    assert (reading.voltage_v, reading.frequency_hz) == (230.4, 49.98)


async def test_missing_reading_model_names_the_models_the_device_has() -> None:
    nameplate = encode(120, {"WRtg": 5000, "WRtg_SF": 0})
    vendor = [64110, 4, 1, 2, 3, 4]
    async with (
        serve(rm.build(40000, COMMON, nameplate, vendor)) as fake,
        _device(fake.port) as device,
    ):
        with pytest.raises(UnsupportedModelError, match=r"exposes models 1, 120, 64110") as info:
            await device.read_inverter()
        assert "111, 112, 113" in str(info.value)  # what the reader would have taken
        with pytest.raises(UnsupportedModelError, match=r"exposes models 1, 120, 64110"):
            await device.read_meter()
        with pytest.raises(UnsupportedModelError, match=r"exposes models 1, 120, 64110"):
            await device.read_battery()
