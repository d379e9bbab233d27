"""Devices that misbehave: silent or garbled bases, endless or corrupt model chains, busy
answers, connections closed mid-read. Served by raw_device.RawDevice."""

from __future__ import annotations

import asyncio
import time

import pytest
from gridcoop_home.devices.sunspec import (
    DeviceBusyError,
    DeviceUnreachableError,
    DiscoveryBackoff,
    ModelChainError,
    NoSunSpecMarkerError,
    SunSpecDevice,
)
from gridcoop_home.devices.sunspec.discovery import MAX_MODELS

from . import register_maps as rm
from .raw_device import BUSY, Act, RawDevice, serve_raw

TIMEOUT_S = 0.3
# Addresses in rm.meter(40000): common model header, then the meter model 203 (L=105).
METER_HEADER = 40070
METER_BODY = METER_HEADER + 2


def _meter_at(base: int, **kwargs: object) -> RawDevice:
    device = RawDevice(**kwargs)  # type: ignore[arg-type]
    meter = rm.meter(base)
    device.load(meter.base, meter.registers)
    return device


def _sunspec(port: int, **kwargs: object) -> SunSpecDevice:
    return SunSpecDevice("127.0.0.1", port, timeout_s=TIMEOUT_S, **kwargs)  # type: ignore[arg-type]


# --- probing the three base addresses -----------------------------------------------------


@pytest.mark.parametrize(("base", "silent_probes"), [(0, 1), (50000, 2)])
async def test_a_base_that_ignores_reads_does_not_stop_the_probe(
    base: int, silent_probes: int
) -> None:
    """A device that ignores reads of unmapped addresses (no exception answer)."""
    async with serve_raw(_meter_at(base, unmapped=Act.IGNORE)) as raw:
        device = _sunspec(raw.port)
        started = time.monotonic()
        found = await device.discover()
        elapsed = time.monotonic() - started
        await device.close()
    assert found.base_address == base
    assert found.model_ids == (1, 203)
    # each silent base is asked once (no resend) and costs one timeout
    assert raw.reads_at(40000) == 1
    assert silent_probes * TIMEOUT_S <= elapsed < silent_probes * TIMEOUT_S + 2.0


@pytest.mark.parametrize("act", [Act.GARBAGE, Act.CLOSE])
async def test_garbage_or_a_dropped_connection_at_one_base_does_not_stop_the_probe(
    act: Act,
) -> None:
    raw_device = _meter_at(50000, script=lambda a, _: act if a == 40000 else None)
    async with serve_raw(raw_device) as raw:
        device = _sunspec(raw.port)
        found = await device.discover()
        await device.close()
    assert found.base_address == 50000
    assert raw.reads_at(0) == 1


async def test_a_silent_device_fails_within_one_timeout_per_base() -> None:
    async with serve_raw(RawDevice(unmapped=Act.IGNORE)) as raw:
        device = _sunspec(raw.port)
        started = time.monotonic()
        with pytest.raises(DeviceUnreachableError, match="no answer at any SunSpec base"):
            await device.discover()
        elapsed = time.monotonic() - started
        await device.close()
    assert [address for address, _ in raw.reads] == [40000, 0, 50000]  # each asked once
    assert 3 * TIMEOUT_S <= elapsed < 3 * TIMEOUT_S + 2.0


async def test_no_marker_names_what_each_base_answered() -> None:
    raw_device = RawDevice(registers={40000: 0x1234, 40001: 0x5678})
    async with serve_raw(raw_device) as raw:
        device = _sunspec(raw.port)
        with pytest.raises(NoSunSpecMarkerError) as info:
            await device.discover()
        await device.close()
    message = str(info.value)
    assert "found 0x1234 0x5678 at 40000" in message
    assert "read 2 registers at 0: Modbus exception code 2" in message


# --- walking the model chain -----------------------------------------------------------------


def _common_then(script_after: int, reply: list[int]) -> RawDevice:
    """A valid marker and common model; every read from `script_after` on answers `reply`."""
    device = RawDevice()
    device.load(40000, [*rm.SUNS, *rm.common("X", "Y", "1", "S")])

    def script(address: int, count: int) -> list[int] | None:
        return (reply * count)[:count] if address >= script_after else None

    device.script = script
    return device


async def test_a_device_answering_zeros_is_refused_at_the_first_zero_header() -> None:
    async with serve_raw(_common_then(METER_HEADER, [0])) as raw:
        device = _sunspec(raw.port)
        with pytest.raises(ModelChainError, match="model id 0 at address 40070"):
            await device.discover()
        await device.close()
    assert len(raw.reads) == 3  # marker, common header, the zero header


async def test_the_walk_stops_after_max_models() -> None:
    async with serve_raw(_common_then(METER_HEADER, [64001, 0])) as raw:
        device = _sunspec(raw.port)
        with pytest.raises(ModelChainError, match=f"exceeds {MAX_MODELS} models"):
            await device.discover()
        await device.close()
    assert len(raw.reads) <= MAX_MODELS + 3


async def test_the_walk_stops_when_the_map_grows_too_long() -> None:
    device_map = rm.build(0, rm.common("X", "Y", "1", "S"), *[[64001, 5000]] * 4)
    raw_device = RawDevice()
    raw_device.load(0, device_map.registers[:70])  # marker and common model
    for index in range(4):  # only the headers: the walk never reads bodies
        raw_device.load(70 + index * 5002, [64001, 5000])
    async with serve_raw(raw_device) as raw:
        device = _sunspec(raw.port)
        with pytest.raises(ModelChainError, match="16384 registers"):
            await device.discover()
        await device.close()


async def test_a_model_running_past_the_address_space_is_an_error() -> None:
    raw_device = RawDevice()
    raw_device.load(50000, [*rm.SUNS, *rm.common("X", "Y", "1", "S"), 64001, 20000])
    async with serve_raw(raw_device) as raw:
        device = _sunspec(raw.port)
        with pytest.raises(ModelChainError, match="length 20000 runs past address 65535"):
            await device.discover()
        await device.close()


# --- remembering failed discoveries ----------------------------------------------------------


async def test_a_failed_discovery_is_remembered_with_a_growing_backoff() -> None:
    now = [1000.0]
    backoff = DiscoveryBackoff(first_s=30, max_s=900, clock=lambda: now[0])
    raw_device = RawDevice(registers={40000: 0x1234, 40001: 0x5678})
    async with serve_raw(raw_device) as raw:
        with pytest.raises(NoSunSpecMarkerError):
            await _sunspec(raw.port, discovery_backoff=backoff).discover()
        assert len(raw.reads) == 3
        # A new instance (the integration recreates it after an error) does not ask again.
        with pytest.raises(NoSunSpecMarkerError, match="not retried for another 30 s"):
            await _sunspec(raw.port, discovery_backoff=backoff).discover()
        assert len(raw.reads) == 3

        now[0] += 31
        with pytest.raises(NoSunSpecMarkerError):
            await _sunspec(raw.port, discovery_backoff=backoff).discover()
        assert len(raw.reads) == 6
        with pytest.raises(NoSunSpecMarkerError, match=r"failed 2 time.* another 60 s"):
            await _sunspec(raw.port, discovery_backoff=backoff).discover()

        raw_device.load(40000, [*rm.SUNS, *rm.common("X", "Y", "1", "S"), *rm.END])
        found = await _sunspec(raw.port, discovery_backoff=backoff).discover(refresh=True)
        assert found.model_ids == (1,)
        assert (await _sunspec(raw.port, discovery_backoff=backoff).discover()).model_ids == (1,)


async def test_the_shared_backoff_spares_a_broken_device_by_default() -> None:
    async with serve_raw(_common_then(METER_HEADER, [0])) as raw:
        for _ in range(3):
            with pytest.raises(ModelChainError):
                await _sunspec(raw.port).discover()
    assert len(raw.reads) == 3  # one walk, then the remembered error


# --- busy devices and dropped connections ----------------------------------------------------


async def test_busy_answers_are_retried_and_the_model_list_is_complete() -> None:
    busy_left = [2]

    def busy_twice(address: int, count: int) -> int | None:
        if address == METER_HEADER and busy_left[0] > 0:
            busy_left[0] -= 1
            return BUSY
        return None

    async with serve_raw(_meter_at(40000, script=busy_twice)) as raw:
        device = _sunspec(raw.port)
        reading = await device.read_meter()
        await device.close()
    assert reading.source_model == 203
    assert raw.reads_at(METER_HEADER) == 3


async def test_a_device_that_stays_busy_fails_discovery_and_nothing_is_kept() -> None:
    busy = [True]
    raw_device = _meter_at(
        40000, script=lambda a, _: BUSY if busy[0] and a == METER_HEADER else None
    )
    async with serve_raw(raw_device) as raw:
        device = _sunspec(raw.port)
        with pytest.raises(DeviceBusyError, match="busy"):
            await device.discover()
        assert device.sunspec_map is None  # not a map cut short after model 1
        busy[0] = False
        assert (await device.discover(refresh=True)).model_ids == (1, 203)
        assert (await device.read_meter()).source_model == 203
        await device.close()


async def test_a_connection_closed_mid_read_is_reported_at_once() -> None:
    raw_device = _meter_at(40000, script=lambda a, _: Act.CLOSE if a == METER_BODY else None)
    async with serve_raw(raw_device) as raw:
        device = SunSpecDevice("127.0.0.1", raw.port, timeout_s=5.0)
        await device.discover()
        started = time.monotonic()
        with pytest.raises(DeviceUnreachableError, match="closed the connection"):
            await device.read_meter()
        elapsed = time.monotonic() - started
        # the next read reconnects
        raw_device.script = None
        assert (await device.read_meter()).source_model == 203
        await device.close()
    assert elapsed < 2.5  # at once, not after the 5 s timeout


async def test_cancelling_a_read_leaves_the_connection_usable() -> None:
    raw_device = _meter_at(40000, script=lambda a, _: Act.IGNORE if a == METER_BODY else None)
    async with serve_raw(raw_device) as raw:
        device = SunSpecDevice("127.0.0.1", raw.port, timeout_s=3.0)
        await device.discover()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await device.read_meter()
        raw_device.script = None
        assert (await device.read_meter()).source_model == 203
        await device.close()
