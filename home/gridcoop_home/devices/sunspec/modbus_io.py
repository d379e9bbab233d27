"""Holding-register reads and writes over Modbus TCP (pymodbus async client).

Knows nothing about SunSpec; it splits long reads, and maps pymodbus failures onto
the SunSpec error classes so callers deal with one error vocabulary.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from .errors import DeviceUnreachableError, ModbusRequestError

# Modbus application protocol limits per request (function codes 0x03 and 0x10).
MAX_READ_REGISTERS = 125
MAX_WRITE_REGISTERS = 123


class ModbusRegisters:
    """Connection to one Modbus unit (`unit_id`) behind `host:port`."""

    def __init__(
        self, host: str, port: int = 502, unit_id: int = 1, *, timeout_s: float = 3.0
    ) -> None:
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self._timeout_s = timeout_s
        # Created on first connect: pymodbus clients need a running event loop.
        self._client: AsyncModbusTcpClient | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port} unit {self.unit_id}"

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> AsyncModbusTcpClient:
        if self._client is None:
            # reconnect_delay=0: no background reconnect loop; the caller decides when to retry.
            self._client = AsyncModbusTcpClient(
                self.host, port=self.port, timeout=self._timeout_s, retries=1, reconnect_delay=0
            )
        if not self._client.connected and not await self._client.connect():
            raise DeviceUnreachableError(f"cannot connect to Modbus TCP device at {self.where}")
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    async def read(self, address: int, count: int) -> list[int]:
        """Read `count` holding registers, in as many requests as the 125-register limit needs."""
        registers: list[int] = []
        while count > 0:
            chunk = min(count, MAX_READ_REGISTERS)
            client = await self.connect()
            response = await self._call(
                f"read {chunk} registers at {address}",
                partial(
                    client.read_holding_registers, address, count=chunk, device_id=self.unit_id
                ),
            )
            if len(response.registers) != chunk:
                raise ModbusRequestError(
                    f"{self.where}: asked for {chunk} registers at {address}, "
                    f"got {len(response.registers)}"
                )
            registers.extend(response.registers)
            address += chunk
            count -= chunk
        return registers

    async def write(self, address: int, values: Sequence[int]) -> None:
        """Write holding registers with function 0x10 (the one SunSpec devices must accept)."""
        for start in range(0, len(values), MAX_WRITE_REGISTERS):
            chunk = list(values[start : start + MAX_WRITE_REGISTERS])
            client = await self.connect()
            await self._call(
                f"write {len(chunk)} registers at {address + start}",
                partial(client.write_registers, address + start, chunk, device_id=self.unit_id),
            )

    async def _call(self, what: str, request: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        try:
            # pymodbus raises ConnectionException synchronously when the link dropped,
            # so the request is built inside the try block.
            response = await request()
        except (ModbusException, TimeoutError, OSError) as exc:
            raise DeviceUnreachableError(f"{self.where}: {what} failed: {exc}") from exc
        if not isinstance(response, ModbusPDU):
            raise ModbusRequestError(f"{self.where}: {what}: unexpected response {response!r}")
        if response.isError():
            raise ModbusRequestError(
                f"{self.where}: {what}: Modbus exception code {response.exception_code}"
            )
        return response
