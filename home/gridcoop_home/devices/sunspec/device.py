"""SunSpecDevice: the async, Home-Assistant-free entry point for one SunSpec Modbus TCP unit."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from .backoff import DISCOVERY_BACKOFF, DiscoveryBackoff
from .control import (
    BATTERY_POWER,
    PV_POWER_LIMIT,
    GuardedWriter,
    WritePlan,
    plan_battery_power,
    plan_pv_power_limit,
)
from .decode import ModelValues, decode_model
from .discovery import BASE_ADDRESSES, ModelLocation, SunSpecMap, discover
from .errors import SunSpecError, UnsupportedModelError, WriteRefusedError
from .modbus_io import ModbusRegisters
from .models import BATTERY_MODELS, INVERTER_MODELS, METER_MODELS, MODELS
from .readings import (
    BatteryReading,
    DeviceInfo,
    InverterReading,
    MeterReading,
    battery_reading,
    der_reading,
    device_info,
    inverter_reading,
    meter_reading,
)


def _exposes(sunspec_map: SunSpecMap) -> str:
    ids = ", ".join(str(i) for i in sunspec_map.model_ids)
    return f"the device exposes models {ids}"


class SunSpecDevice:
    """Reads (and, only when `allow_writes=True`, controls) one SunSpec device.

    Usage::

        async with SunSpecDevice("192.168.1.50", unit_id=1) as inverter:
            reading = await inverter.read_inverter()
    """

    def __init__(
        self,
        host: str,
        port: int = 502,
        unit_id: int = 1,
        *,
        allow_writes: bool = False,
        timeout_s: float = 3.0,
        base_addresses: tuple[int, ...] = BASE_ADDRESSES,
        discovery_backoff: DiscoveryBackoff = DISCOVERY_BACKOFF,
    ) -> None:
        self.allow_writes = allow_writes
        self._io = ModbusRegisters(host, port, unit_id, timeout_s=timeout_s)
        self._bases = base_addresses
        self._map: SunSpecMap | None = None
        self._backoff = discovery_backoff
        self._writer = GuardedWriter(self._io)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        await self._io.connect()  # raises DeviceUnreachableError

    async def close(self) -> None:
        """Restore anything this process changed, then drop the connection."""
        try:
            if self._writer.pending:
                await self._writer.revert_all()
        finally:
            self._io.close()

    # --- discovery and raw models -------------------------------------------------

    async def discover(self, *, refresh: bool = False) -> SunSpecMap:
        """The device's SunSpec map, found once and then kept.

        A failed discovery is remembered per device (host, port, unit id, across instances):
        until its backoff ends (30 s, doubling to 15 min) the same error is raised again
        without asking the device. `refresh=True` discovers now regardless.
        """
        if self._map is not None and not refresh:
            return self._map
        where = self._io.where
        if not refresh:
            self._backoff.check(where)
        try:
            self._map = await discover(self._io, self._bases)
        except SunSpecError as exc:
            self._backoff.failed(where, exc)
            raise
        self._backoff.succeeded(where)
        return self._map

    @property
    def sunspec_map(self) -> SunSpecMap | None:
        return self._map

    async def has_model(self, model_id: int) -> bool:
        return bool((await self.discover()).find(model_id))

    async def _location(self, model_id: int, index: int) -> ModelLocation:
        sunspec_map = await self.discover()
        found = sunspec_map.find(model_id)
        if index >= len(found):
            raise UnsupportedModelError(
                f"{self._io.where}: device has no model {model_id} (index {index}); "
                f"{_exposes(sunspec_map)}"
            )
        return found[index]

    async def read_model(self, model_id: int, index: int = 0) -> ModelValues:
        """Read and decode one model (the `index`-th instance if the device repeats it)."""
        model = MODELS.get(model_id)
        if model is None:
            raise UnsupportedModelError(f"no point table for SunSpec model {model_id}")
        location = await self._location(model_id, index)
        body = await self._io.read(location.address + 2, location.length)
        return decode_model(model, location.address, body)

    async def read_all(self) -> list[ModelValues]:
        """Every model the device exposes that has a point table, in map order."""
        sunspec_map = await self.discover()
        values = []
        seen: dict[int, int] = {}
        for location in sunspec_map.models:
            index = seen.get(location.model_id, 0)
            seen[location.model_id] = index + 1
            if location.model_id in MODELS:
                values.append(await self.read_model(location.model_id, index))
        return values

    async def _optional(self, model_id: int) -> ModelValues | None:
        return await self.read_model(model_id) if await self.has_model(model_id) else None

    async def _first_of(self, model_ids: tuple[int, ...], what: str) -> ModelValues:
        for model_id in model_ids:
            if await self.has_model(model_id):
                return await self.read_model(model_id)
        raise await self._none_of(model_ids, what)

    async def _none_of(self, model_ids: tuple[int, ...], what: str) -> UnsupportedModelError:
        ids = ", ".join(str(i) for i in model_ids)
        return UnsupportedModelError(
            f"{self._io.where}: no {what} model this reader decodes ({ids}); "
            f"{_exposes(await self.discover())}"
        )

    # --- typed summaries ----------------------------------------------------------

    async def read_device_info(self) -> DeviceInfo:
        return device_info(await self.read_model(1))

    async def read_inverter(self) -> InverterReading:
        """From model 101-103 or 111-113, else 701; MPPT strings from model 160 if present."""
        inverter = await self._first_of(INVERTER_MODELS, "inverter")
        mppt = await self._optional(160)
        if inverter.model_id == 701:
            return der_reading(inverter, mppt)
        return inverter_reading(inverter, mppt)

    async def read_battery(self) -> BatteryReading:
        """From models 802, 713 and 124 (whichever exist), with 120 for the capacity fallback."""
        battery, capacity, storage, nameplate = [
            await self._optional(i) for i in (*BATTERY_MODELS, 120)
        ]
        if battery is None and capacity is None and storage is None:
            raise await self._none_of(BATTERY_MODELS, "battery")
        return battery_reading(battery, storage, capacity, nameplate)

    async def read_meter(self) -> MeterReading:
        return meter_reading(await self._first_of(METER_MODELS, "meter"))

    # --- guarded writes -----------------------------------------------------------

    @property
    def pending_reverts(self) -> Mapping[str, asyncio.Task[None]]:
        """Controls with an active revert timer (e.g. "pv_power_limit")."""
        return self._writer.pending

    def _check_writes_allowed(self, what: str) -> None:
        if not self.allow_writes:
            raise WriteRefusedError(
                f"{self._io.where}: refusing to {what}: device is read-only "
                "(create SunSpecDevice with allow_writes=True to enable control)"
            )

    async def set_pv_power_limit(self, watts: float, *, revert_after_s: float) -> WritePlan:
        """Cap PV active power at `watts` via model 123 WMaxLimPct, for `revert_after_s`."""
        self._check_writes_allowed("set a PV power limit")

        async def plan() -> WritePlan:
            controls = await self.read_model(123)
            nameplate = await self._optional(120)
            return plan_pv_power_limit(controls, nameplate, watts, revert_after_s)

        return await self._writer.apply(plan, revert_after_s)

    async def set_battery_power(self, watts: float, *, revert_after_s: float) -> WritePlan:
        """Hold battery power at `watts` (+ charge, - discharge) via model 124."""
        self._check_writes_allowed("set a battery power setpoint")

        async def plan() -> WritePlan:
            storage = await self.read_model(124)
            battery = await self._optional(802)
            nameplate = await self._optional(120)
            return plan_battery_power(storage, battery, nameplate, watts, revert_after_s)

        return await self._writer.apply(plan, revert_after_s)

    async def revert(self, control: str) -> None:
        """Restore a control (PV_POWER_LIMIT or BATTERY_POWER) now."""
        if control not in (PV_POWER_LIMIT, BATTERY_POWER):
            raise ValueError(f"unknown control {control!r}")
        await self._writer.revert(control)
