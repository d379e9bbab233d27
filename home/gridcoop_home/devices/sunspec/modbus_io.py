"""Holding-register reads and writes over Modbus TCP (pymodbus async client).

Knows nothing about SunSpec; it splits long reads, retries a busy device, notices a closed
connection at once, and maps pymodbus failures onto the SunSpec error classes so callers
deal with one error vocabulary.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from .errors import DeviceBusyError, DeviceUnreachableError, ModbusRequestError

# Modbus application protocol limits per request (function codes 0x03 and 0x10).
MAX_READ_REGISTERS = 125
MAX_WRITE_REGISTERS = 123

SERVER_DEVICE_BUSY = 6  # Modbus exception code: the request was not carried out, try again
# Waits before each retry of a busy request: five attempts within about 1.5 s.
BUSY_RETRY_DELAYS_S = (0.1, 0.2, 0.4, 0.8)


class ModbusRegisters:
    """Connection to one Modbus unit (`unit_id`) behind `host:port`.

    Every request is one attempt bounded by `timeout_s` (pymodbus's own retries are off: a
    device that does not answer within the timeout is reported, not asked again).
    """

    def __init__(
        self,
        host: str,
        port: int = 502,
        unit_id: int = 1,
        *,
        timeout_s: float = 3.0,
        busy_retry_delays_s: Sequence[float] = BUSY_RETRY_DELAYS_S,
    ) -> None:
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.timeout_s = timeout_s
        self._busy_delays = tuple(busy_retry_delays_s)
        # Created on first connect: pymodbus clients need a running event loop.
        self._client: AsyncModbusTcpClient | None = None
        # Resolved when the current connection drops, so a pending request fails at once.
        self._closed: asyncio.Future[None] | None = None

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
                self.host,
                port=self.port,
                timeout=self.timeout_s,
                retries=0,
                reconnect_delay=0,
                trace_connect=self._connection_changed,
            )
        if not self._client.connected:
            if not await self._client.connect():
                raise DeviceUnreachableError(f"cannot connect to Modbus TCP device at {self.where}")
            self._closed = asyncio.get_running_loop().create_future()
        return self._client

    def _connection_changed(self, connected: bool) -> None:
        if not connected and self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

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
        """One request; "busy" answers are retried after short waits."""
        for delay in (*self._busy_delays, None):
            response = await self._attempt(what, request)
            if not response.isError():
                return response
            code = response.exception_code
            if code != SERVER_DEVICE_BUSY:
                message = f"{self.where}: {what}: Modbus exception code {code}"
                raise ModbusRequestError(message, code)
            if delay is None:
                break
            await asyncio.sleep(delay)
        attempts = len(self._busy_delays) + 1
        raise DeviceBusyError(
            f"{self.where}: {what}: device busy (Modbus exception 6) "
            f"{attempts} times over {sum(self._busy_delays):.1f} s",
            SERVER_DEVICE_BUSY,
        )

    async def _attempt(self, what: str, request: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        closed = self._closed
        try:
            # pymodbus raises ConnectionException synchronously when the link dropped,
            # so the request is built inside the try block.
            pending = asyncio.ensure_future(request())
        except (ModbusException, OSError) as exc:
            raise DeviceUnreachableError(f"{self.where}: {what} failed: {exc}") from exc
        waiters: set[asyncio.Future[Any]] = {pending}
        if closed is not None:
            waiters.add(closed)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped = not pending.done()
            if dropped:
                pending.cancel()  # releases pymodbus's request lock
        if dropped:
            with contextlib.suppress(asyncio.CancelledError, ModbusException):
                await pending
            raise DeviceUnreachableError(
                f"{self.where}: {what}: the device closed the connection before answering"
            )
        try:
            response = pending.result()
        except (ModbusException, TimeoutError, OSError) as exc:
            if self._closed is not None and self._closed.done():
                raise DeviceUnreachableError(
                    f"{self.where}: {what}: the device closed the connection"
                ) from exc
            raise DeviceUnreachableError(
                f"{self.where}: {what}: no valid answer within {self.timeout_s:g} s ({exc})"
            ) from exc
        if not isinstance(response, ModbusPDU):
            raise ModbusRequestError(f"{self.where}: {what}: unexpected response {response!r}")
        return response
