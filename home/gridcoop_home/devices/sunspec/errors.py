"""SunSpec errors: one subclass per failure a caller may want to handle differently."""

from __future__ import annotations


class SunSpecError(Exception):
    """Base class for everything the SunSpec reader raises."""


class DeviceUnreachableError(SunSpecError, ConnectionError):
    """No TCP connection, or the device stopped answering (timeout, connection closed)."""


class ModbusRequestError(SunSpecError):
    """The device answered a request with a Modbus exception (e.g. illegal address)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code  # the Modbus exception code, if the device sent one


class DeviceBusyError(ModbusRequestError):
    """The device kept answering "server device busy" (exception 6) after several retries.

    Transient: the request was not carried out, and may succeed later.
    """


class NoSunSpecMarkerError(SunSpecError):
    """None of the standard base addresses holds the 'SunS' marker."""


class ModelChainError(SunSpecError):
    """The model chain after the marker is malformed (overlaps, runs off the address space)."""


class UnsupportedModelError(SunSpecError):
    """The device does not expose the model, or this reader has no point table for it."""


class WriteRefusedError(SunSpecError):
    """A write was not attempted: writes are disabled or the device lacks what the write needs."""


class OutOfRangeError(WriteRefusedError):
    """A write request exceeds the device's own ratings or the register's range."""


class ReadBackMismatchError(SunSpecError):
    """After a write, the register read back differs from what was written."""
