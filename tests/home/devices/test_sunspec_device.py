"""SunSpecDevice against a real pymodbus TCP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import cast

import pytest
from gridcoop_home.devices.sunspec import (
    BATTERY_POWER,
    PV_POWER_LIMIT,
    DeviceUnreachableError,
    NoSunSpecMarkerError,
    OutOfRangeError,
    ReadBackMismatchError,
    SunSpecDevice,
    UnsupportedModelError,
    WriteRefusedError,
)
from gridcoop_home.devices.sunspec.control import GuardedWriter, RegisterWrite, WritePlan
from gridcoop_home.devices.sunspec.modbus_io import ModbusRegisters

from . import register_maps as rm
from .conftest import FakeSunSpecDevice, serve

# Addresses in the inverter map (base 40000; common model L=65).
CONTROLS_123 = 40149  # ID register of model 123
WMAXLIMPCT = CONTROLS_123 + 2 + 3
WMAXLIM_ENA = CONTROLS_123 + 2 + 7
MPPT_160 = 40175
# Battery map (base 50000): 1 (L=66) at 50002, 802 (L=62) at 50070, 124 at 50134.
STORAGE_124 = 50134


async def _until(predicate: Callable[[], bool], timeout_s: float = 3.0) -> None:
    """Poll instead of sleeping a fixed time: fast on a quiet machine, tolerant on a busy one."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def _device(fake: FakeSunSpecDevice, *, allow_writes: bool = False) -> SunSpecDevice:
    return SunSpecDevice("127.0.0.1", fake.port, timeout_s=1.0, allow_writes=allow_writes)


# --- discovery ----------------------------------------------------------------------


@pytest.mark.parametrize("base", [0, 40000, 50000])
async def test_discovers_marker_at_each_base_address(base: int) -> None:
    async with (
        serve(rm.meter(base), unit_id=200) as fake,
        SunSpecDevice("127.0.0.1", fake.port, unit_id=200) as meter,
    ):
        found = await meter.discover()
    assert found.base_address == base
    assert found.model_ids == (1, 203)
    assert found.models[0].address == base + 2


async def test_model_chain_addresses_and_lengths() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake) as inverter:
        found = await inverter.discover()
    assert [(m.model_id, m.address, m.length) for m in found.models] == [
        (1, 40002, 65),
        (103, 40069, 50),
        (120, 40121, 26),
        (123, CONTROLS_123, 24),
        (160, MPPT_160, 128),
    ]


async def test_missing_marker_is_reported() -> None:
    async with serve(rm.NO_SUNSPEC) as fake, _device(fake) as device:
        with pytest.raises(NoSunSpecMarkerError, match="no 'SunS' marker"):
            await device.discover()


async def test_unreachable_host_raises_clear_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    device = SunSpecDevice("127.0.0.1", port, timeout_s=0.5)
    with pytest.raises(DeviceUnreachableError, match="cannot connect") as info:
        await device.read_inverter()
    assert isinstance(info.value, ConnectionError)
    await device.close()


# --- reading ------------------------------------------------------------------------


async def test_inverter_reading_applies_scale_factors() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake) as inverter:
        reading = await inverter.read_inverter()
        info = await inverter.read_device_info()
    assert reading.source_model == 103
    assert reading.ac_power_w == 31240.0
    assert reading.energy_wh_total == 183_456_789
    assert reading.ac_voltage_v == 230.1
    assert reading.frequency_hz == 50.01
    assert reading.temperature_c == 41.3
    assert reading.operating_state == "mppt"
    assert info.manufacturer == "SMA" and info.serial_number == "3012345678"


async def test_not_implemented_values_read_as_none() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake) as inverter:
        inv = await inverter.read_model(103)
    assert inv.points["TmpSnk"] is None  # int16 0x8000
    assert inv.points["DCA"] is None  # uint16 0xFFFF with sunssf 0x8000
    assert inv.points["StVnd"] is None  # enum16 0xFFFF
    async with (
        serve(rm.meter(40000), unit_id=200) as fake,
        SunSpecDevice("127.0.0.1", fake.port, unit_id=200) as meter,
    ):
        m = await meter.read_model(203)
    assert m.points["TotWhExpPhA"] is None  # acc32 0xFFFFFFFF
    assert m.points["TotWhExp"] == 8_523_100


async def test_model_longer_than_125_registers_is_split_into_reads() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake) as inverter:
        mppt = await inverter.read_model(160)
        reading = await inverter.read_inverter()
    body_reads = [(r.address, r.count) for r in fake.reads_within(MPPT_160 + 2, MPPT_160 + 130)]
    assert body_reads[:2] == [(MPPT_160 + 2, 125), (MPPT_160 + 127, 3)]
    assert all(r.count <= 125 for r in fake.requests)
    assert len(mppt.repeats) == 6
    assert reading.mppt[0].dc_voltage_v == 612.3
    assert reading.mppt[0].dc_current_a == 8.55
    assert reading.mppt[4].energy_wh == 30_123_460
    assert reading.mppt[5].label == "PV6"


async def test_der_701_feeds_the_inverter_reading() -> None:
    async with serve(rm.DER) as fake, _device(fake) as der:
        reading = await der.read_inverter()
    assert reading.source_model == 701
    assert reading.ac_power_w == 4520
    assert reading.energy_wh_total == 1_234_567
    assert reading.frequency_hz == 50.012
    assert reading.ac_voltage_v == 230.2
    assert reading.operating_state == "mppt"
    assert all(r.count <= 125 for r in fake.requests)


async def test_battery_reading_merges_802_124_713() -> None:
    async with serve(rm.BATTERY) as fake, _device(fake) as battery:
        found = await battery.discover()
        reading = await battery.read_battery()
        capacity = await battery.read_model(713)
    assert found.base_address == 50000
    assert found.model_ids == (1, 802, 124, 713)
    assert reading.source_model == 802
    assert reading.soc_pct == 56.4
    assert reading.power_w == -1830
    assert reading.soh_pct == 98
    assert reading.capacity_wh == 10240
    assert reading.voltage_v == 409.6
    assert reading.charge_state == "charging"
    assert capacity.points["WHAvail"] == 5660


async def test_meter_reading_energy_counters_in_wh() -> None:
    async with (
        serve(rm.meter(40000), unit_id=200) as fake,
        SunSpecDevice("127.0.0.1", fake.port, unit_id=200) as meter,
    ):
        reading = await meter.read_meter()
    assert reading.source_model == 203
    assert reading.power_w == -2450
    assert reading.import_wh == 3_201_550
    assert reading.export_wh == 8_523_100
    assert reading.voltage_v == 230.4
    assert reading.frequency_hz == 49.98
    assert reading.phase_power_w == (-800, -850, -800)


async def test_read_all_and_unsupported_models() -> None:
    async with serve(rm.BATTERY) as fake, _device(fake) as battery:
        everything = await battery.read_all()
        with pytest.raises(UnsupportedModelError, match="no model 103"):
            await battery.read_model(103)
        with pytest.raises(UnsupportedModelError, match="no point table"):
            await battery.read_model(64001)
        with pytest.raises(UnsupportedModelError, match="no meter model"):
            await battery.read_meter()
        with pytest.raises(UnsupportedModelError, match="no inverter model"):
            await battery.read_inverter()
    assert [m.model_id for m in everything] == [1, 802, 124, 713]


# --- writes -------------------------------------------------------------------------


async def test_read_only_by_default_refuses_writes_without_sending() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake) as inverter:
        with pytest.raises(WriteRefusedError, match="read-only"):
            await inverter.set_pv_power_limit(10_000, revert_after_s=60)
        with pytest.raises(WriteRefusedError, match="read-only"):
            await inverter.set_battery_power(1000, revert_after_s=60)
    assert fake.writes == []


async def test_pv_limit_write_within_rating_is_verified() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake, allow_writes=True) as inverter:
        plan = await inverter.set_pv_power_limit(25_000, revert_after_s=600)
        controls = await inverter.read_model(123)
        assert set(inverter.pending_reverts) == {PV_POWER_LIMIT}
    assert "50.0 % of 50000 W" in plan.description
    assert controls.points["WMaxLimPct"] == 50.0
    assert controls.points["WMaxLim_Ena"] == 1
    assert controls.points["WMaxLimPct_RvrtTms"] == 600  # the device's own revert timer
    # read-back: each write is followed by a read of the same registers
    write = fake.writes[0]
    follow = fake.requests[fake.requests.index(write) + 1]
    assert (follow.function_code, follow.address, follow.count) == (3, write.address, write.count)


async def test_out_of_range_requests_are_refused_before_writing() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake, allow_writes=True) as inverter:
        with pytest.raises(OutOfRangeError, match=r"0\.\.50000 W"):
            await inverter.set_pv_power_limit(60_000, revert_after_s=60)
        with pytest.raises(OutOfRangeError):
            await inverter.set_pv_power_limit(-1, revert_after_s=60)
        with pytest.raises(OutOfRangeError, match="revert_after_s"):
            await inverter.set_pv_power_limit(1000, revert_after_s=0)
        with pytest.raises(UnsupportedModelError, match="no model 124"):
            await inverter.set_battery_power(1000, revert_after_s=60)
    assert fake.writes == []


async def test_battery_setpoint_bounded_by_ratings() -> None:
    async with serve(rm.BATTERY) as fake, _device(fake, allow_writes=True) as battery:
        with pytest.raises(OutOfRangeError, match=r"-5000\.\.5000 W"):
            await battery.set_battery_power(5001, revert_after_s=60)
        with pytest.raises(OutOfRangeError):
            await battery.set_battery_power(-5200, revert_after_s=60)
        assert fake.writes == []
        await battery.set_battery_power(2500, revert_after_s=30)
        storage = await battery.read_model(124)
        assert storage.points["InWRte"] == 50.0
        assert storage.points["OutWRte"] == -50.0
        assert storage.points["StorCtl_Mod"] == 3
        assert storage.points["InOutWRte_RvrtTms"] == 30
        await battery.set_battery_power(-1000, revert_after_s=30)
        storage = await battery.read_model(124)
        assert storage.points["InWRte"] == -20.0
        assert storage.points["OutWRte"] == 20.0


async def test_revert_timer_restores_previous_value() -> None:
    async with serve(rm.INVERTER) as fake, _device(fake, allow_writes=True) as inverter:
        await inverter.set_pv_power_limit(10_000, revert_after_s=0.2)
        assert fake.register(WMAXLIMPCT) == 2000
        await inverter.set_pv_power_limit(5_000, revert_after_s=0.2)  # re-arms the timer
        await _until(lambda: not inverter.pending_reverts)
        # back to the value before the *first* write, not the intermediate one
        assert fake.register(WMAXLIMPCT) == 10000
        assert fake.register(WMAXLIM_ENA) == 0


async def test_close_reverts_pending_writes() -> None:
    async with serve(rm.BATTERY) as fake:
        async with _device(fake, allow_writes=True) as battery:
            await battery.set_battery_power(-4000, revert_after_s=900)
            assert fake.register(STORAGE_124 + 2 + 3) == 3
            assert set(battery.pending_reverts) == {BATTERY_POWER}
        assert fake.register(STORAGE_124 + 2 + 3) == 0  # StorCtl_Mod
        assert fake.register(STORAGE_124 + 2 + 11) == 10000  # InWRte 100 %


async def test_read_back_mismatch_raises_and_restores() -> None:
    def clamp_to_60_pct(address: int, values: list[int]) -> None:
        # e.g. a grid-operator export limit the inverter enforces over any request
        if address == WMAXLIMPCT:
            values[0] = min(values[0], 6000)

    async with (
        serve(rm.INVERTER, write_hook=clamp_to_60_pct) as fake,
        _device(fake, allow_writes=True) as inverter,
    ):
        with pytest.raises(ReadBackMismatchError, match="read back"):
            await inverter.set_pv_power_limit(40_000, revert_after_s=60)
        assert not inverter.pending_reverts
        assert fake.register(WMAXLIM_ENA) == 0
        await inverter.set_pv_power_limit(20_000, revert_after_s=60)  # 40 %: accepted
        assert fake.register(WMAXLIMPCT) == 4000


async def test_a_revert_stays_pending_until_its_write_has_landed() -> None:
    class SlowRegisters:  # writes wait until the test lets them through
        where = "slow"

        def __init__(self) -> None:
            self.values: dict[int, tuple[int, ...]] = {}
            self.gate = asyncio.Event()
            self.gate.set()

        async def write(self, address: int, values: tuple[int, ...]) -> None:
            await self.gate.wait()
            self.values[address] = tuple(values)

        async def read(self, address: int, count: int) -> list[int]:
            return list(self.values[address])

    io = SlowRegisters()
    writer = GuardedWriter(cast(ModbusRegisters, io))
    before, limit = RegisterWrite(1, (100,)), RegisterWrite(1, (20,))

    async def plan() -> WritePlan:
        return WritePlan("pv_power_limit", "limit", (limit,), (before,))

    await writer.apply(plan, 0.01)
    io.gate.clear()  # the revert's write is held back
    await asyncio.sleep(0.05)
    assert "pv_power_limit" in writer.pending  # the timer fired, the restore is not written yet

    io.gate.set()
    await _until(lambda: not writer.pending)
    assert io.values[1] == (100,)
