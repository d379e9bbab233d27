"""A minimal Modbus TCP device, written on raw sockets, for behaviour a well-mannered server
never shows: ignoring requests, answering "busy", closing the connection mid-read, sending
garbage. It serves reads of holding registers (function 3) only.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum


class Act(Enum):
    IGNORE = "ignore"  # read the request, never answer
    CLOSE = "close"  # read the request, then close the connection
    GARBAGE = "garbage"  # answer with bytes that are no Modbus frame


ILLEGAL_DATA_ADDRESS = 2
BUSY = 6

# What the device does with one read: registers to send, a Modbus exception code, or an Act.
Reply = list[int] | int | Act
# Decides per read (address, count); None means "the default": registers, or `unmapped`.
Script = Callable[[int, int], Reply | None]


@dataclass
class RawDevice:
    registers: dict[int, int] = field(default_factory=dict)
    unmapped: int | Act = ILLEGAL_DATA_ADDRESS  # what reads of unmapped addresses get
    script: Script | None = None
    reads: list[tuple[int, int]] = field(default_factory=list)
    port: int = 0

    def load(self, base: int, registers: list[int]) -> None:
        for offset, value in enumerate(registers):
            self.registers[base + offset] = value

    def reads_at(self, address: int) -> int:
        return sum(1 for a, _ in self.reads if a == address)

    def reply(self, address: int, count: int) -> Reply:
        if self.script is not None and (scripted := self.script(address, count)) is not None:
            return scripted
        wanted = range(address, address + count)
        if all(a in self.registers for a in wanted):
            return [self.registers[a] for a in wanted]
        return self.unmapped


def _frame(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


async def _session(
    device: RawDevice, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            tid, _, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
            pdu = await reader.readexactly(length - 1)
            function = pdu[0]
            if function != 3:
                writer.write(_frame(tid, unit, bytes([function | 0x80, 1])))
                continue
            address, count = struct.unpack(">HH", pdu[1:5])
            device.reads.append((address, count))
            reply = device.reply(address, count)
            if reply is Act.IGNORE:
                continue
            if reply is Act.CLOSE:
                return
            if reply is Act.GARBAGE:
                writer.write(b"\xde\xad\xbe\xef" * 4)
            elif isinstance(reply, int):
                writer.write(_frame(tid, unit, bytes([0x83, reply])))
            else:
                data = b"".join(struct.pack(">H", word & 0xFFFF) for word in reply)
                writer.write(_frame(tid, unit, bytes([3, len(data)]) + data))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@asynccontextmanager
async def serve_raw(device: RawDevice) -> AsyncIterator[RawDevice]:
    sessions: set[asyncio.Task[None]] = set()

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(_session(device, reader, writer))
        sessions.add(task)
        task.add_done_callback(sessions.discard)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    device.port = server.sockets[0].getsockname()[1]
    try:
        yield device
    finally:
        server.close()
        for task in list(sessions):
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        await server.wait_closed()
