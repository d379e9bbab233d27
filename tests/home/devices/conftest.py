"""A real pymodbus TCP server on 127.0.0.1 serving a SunSpec register map."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from gridcoop_home.devices.sunspec import DISCOVERY_BACKOFF
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

from .register_maps import RegisterMap

WRITE_MULTIPLE = 16
READ_HOLDING = 3

# Called with (address, values) for every write; may change `values` in place to
# simulate a device that clamps or ignores a setpoint.
WriteHook = Callable[[int, list[int]], None]


@dataclass
class Request:
    function_code: int
    address: int
    count: int


@dataclass
class FakeSunSpecDevice:
    port: int
    base: int
    requests: list[Request] = field(default_factory=list)
    write_hook: WriteHook | None = None
    _registers: list[int] = field(default_factory=list)

    def register(self, address: int) -> int:
        return self._registers[address - self.base]

    @property
    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.function_code == WRITE_MULTIPLE]

    def reads_within(self, start: int, end: int) -> list[Request]:
        return [
            r for r in self.requests if r.function_code == READ_HOLDING and start <= r.address < end
        ]


@asynccontextmanager
async def serve(
    register_map: RegisterMap, unit_id: int = 1, write_hook: WriteHook | None = None
) -> AsyncIterator[FakeSunSpecDevice]:
    fake = FakeSunSpecDevice(port=0, base=register_map.base, write_hook=write_hook)

    async def action(
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        fake._registers = registers  # the server's live register list
        fake.requests.append(Request(function_code, address, count))
        if set_values is not None and fake.write_hook is not None:
            fake.write_hook(address, set_values)  # type: ignore[arg-type]
        return None

    device = SimDevice(
        id=unit_id,
        simdata=[
            SimData(
                address=register_map.base,
                values=_as_simulator_words(register_map.registers),
                datatype=DataType.REGISTERS,
            )
        ],
        action=action,
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", 0))  # port 0: OS picks a free one
    await server.serve_forever(background=True)
    fake.port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield fake
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]
        await asyncio.sleep(0)  # let the listener's close callbacks run


def _as_simulator_words(registers: list[int] | tuple[int, ...]) -> list[int]:
    """Raw 16-bit words as the running pymodbus simulator packs them: pymodbus 3.13 (Home
    Assistant 2026.10's pin) packs REGISTERS as signed words, 3.16 as unsigned ones."""
    signed = SimUtils.DATATYPE_STRUCT[DataType.REGISTERS][1] == "h"
    return [word - 0x10000 if signed and word > 0x7FFF else word for word in registers]


@pytest.fixture(autouse=True)
def _forget_failed_discoveries() -> Iterator[None]:
    """Failed discoveries are remembered process-wide; each test starts with none."""
    DISCOVERY_BACKOFF.clear()
    yield
    DISCOVERY_BACKOFF.clear()
