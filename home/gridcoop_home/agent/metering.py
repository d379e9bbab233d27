"""Meter readings: read each configured meter, sign, buffer, upload.

A meter is read over SunSpec Modbus (grid/battery/ev: its meter model's import and export
registers; pv: the inverter's lifetime energy as export) or taken from MQTT. The hub refuses a
register that goes down, so a register never moves backwards here: a lower value (a meter reset,
a stray message) is held at the last one sent. Unsent readings stay in a bounded buffer and go up
oldest first when the hub answers again (it takes backlog up to 7 days old); with a state file
(gridcoop_home.agent.buffer) they survive a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from gridcoop_home.agent.buffer import load_state, save_state
from gridcoop_home.agent.config import MeterConfig, Modbus
from gridcoop_home.agent.state import HomeState
from gridcoop_home.client.api import HubApi
from gridcoop_home.client.hub import Meter
from gridcoop_home.devices.sunspec import SunSpecDevice, SunSpecError
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.keys import SigningKey

LOGGER = logging.getLogger("gridcoop_home.agent")
MAX_BACKLOG = 20_000  # two weeks of 1-minute readings for one meter
UPLOAD_BATCH = 1000  # the hub's default max_batch


class ModbusPool:
    """One open SunSpec connection per device, reopened after a failure."""

    def __init__(self) -> None:
        self._devices: dict[Modbus, SunSpecDevice] = {}

    async def device(self, where: Modbus) -> SunSpecDevice:
        if (device := self._devices.get(where)) is None:
            device = SunSpecDevice(where.host, port=where.port, unit_id=where.unit_id)
            await device.connect()
            self._devices[where] = device
        return device

    async def drop(self, where: Modbus) -> None:
        if (device := self._devices.pop(where, None)) is not None:
            await device.close()

    async def close(self) -> None:
        for where in list(self._devices):
            await self.drop(where)


async def read_sunspec(pool: ModbusPool, meter: MeterConfig) -> tuple[float, float] | None:
    assert meter.modbus is not None
    try:
        device = await pool.device(meter.modbus)
        if meter.kind == "pv":
            inverter = await device.read_inverter()
            total = inverter.energy_wh_total
            return None if total is None else (0.0, total)
        reading = await device.read_meter()
    except SunSpecError as err:
        LOGGER.warning("SunSpec meter %s at %s not readable: %s", meter.kind, meter.modbus, err)
        await pool.drop(meter.modbus)
        return None
    if reading.import_wh is None or reading.export_wh is None:
        return None
    return reading.import_wh, reading.export_wh


class Metering:
    def __init__(
        self,
        meters: Sequence[MeterConfig],
        keys: Mapping[str, SigningKey],
        state: HomeState,
        state_file: Path | None = None,
    ) -> None:
        self._config = tuple(meters)
        self._meters = {m.kind: Meter(m.kind, m.kind, keys[m.kind]) for m in meters}
        self._state = state
        self.pool = ModbusPool()
        self._file = state_file
        # kind -> registers of the last reading; the readings not yet at the hub, oldest first
        self._sent: dict[str, tuple[int, int]] = {}
        self.backlog: list[SignedMessage] = []
        if state_file is not None:
            self.backlog, self._sent = load_state(state_file)
            if self.backlog:
                LOGGER.info("%s buffered readings from %s", len(self.backlog), state_file)
        self.uploaded = 0

    def _save(self) -> None:
        if self._file is not None:
            save_state(self._file, self.backlog, self._sent)

    async def sample(self) -> int:
        """Read every meter and sign one reading for each that has both registers; returns how
        many were queued."""
        queued = 0
        for meter in self._config:
            if meter.source == "sunspec":
                registers = await read_sunspec(self.pool, meter)
            else:
                registers = self._state.meter(meter.kind)
            if registers is None:
                continue
            last = self._sent.get(meter.kind, (0, 0))
            import_wh = max(int(registers[0]), last[0])
            export_wh = max(int(registers[1]), last[1])
            self._sent[meter.kind] = (import_wh, export_wh)
            self.backlog.append(self._meters[meter.kind].reading(import_wh, export_wh))
            queued += 1
        if len(self.backlog) > MAX_BACKLOG:
            dropped = len(self.backlog) - MAX_BACKLOG
            LOGGER.warning("Reading buffer full: dropping the %s oldest", dropped)
            del self.backlog[:dropped]
        if queued:
            self._save()
        return queued

    async def upload(self, api: HubApi) -> int:
        """Send the buffer oldest first; HubUnreachable/HubError leave the unsent rest."""
        sent = 0
        while self.backlog:
            batch = self.backlog[:UPLOAD_BATCH]
            receipt = await api.upload_readings(batch)
            if receipt.rejected:
                LOGGER.warning("The hub rejected %s of %s readings", receipt.rejected, len(batch))
            # Rejected readings leave too: they would be rejected again forever.
            del self.backlog[: len(batch)]
            sent += len(batch)
            self._save()
        self.uploaded += sent
        return sent

    async def close(self) -> None:
        await self.pool.close()


async def read_battery_soc(pool: ModbusPool, where: Modbus, state: HomeState) -> None:
    """A SunSpec battery's state of charge into `state` (kept as it was when unreadable)."""
    try:
        battery = await (await pool.device(where)).read_battery()
    except SunSpecError as err:
        LOGGER.warning("SunSpec battery at %s not readable: %s", where, err)
        await pool.drop(where)
        return
    if battery.soc_pct is not None:
        state.soc_pct["battery"] = battery.soc_pct
