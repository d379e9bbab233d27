"""SunSpec over Modbus TCP: discovery, decoding, typed readings and guarded writes.

Home Assistant free; see docs/devices.md for the supported models and write safety rules.
"""

from .backoff import DISCOVERY_BACKOFF, DiscoveryBackoff
from .control import BATTERY_POWER, PV_POWER_LIMIT, RegisterWrite, WritePlan
from .decode import ModelValues, Value
from .device import SunSpecDevice
from .discovery import BASE_ADDRESSES, ModelLocation, SunSpecMap
from .errors import (
    DeviceBusyError,
    DeviceUnreachableError,
    ModbusRequestError,
    ModelChainError,
    NoSunSpecMarkerError,
    OutOfRangeError,
    ReadBackMismatchError,
    SunSpecError,
    UnsupportedModelError,
    WriteRefusedError,
)
from .models import MODELS
from .readings import BatteryReading, DeviceInfo, InverterReading, MeterReading, MpptReading

__all__ = [
    "BASE_ADDRESSES",
    "BATTERY_POWER",
    "DISCOVERY_BACKOFF",
    "MODELS",
    "PV_POWER_LIMIT",
    "BatteryReading",
    "DeviceBusyError",
    "DeviceInfo",
    "DeviceUnreachableError",
    "DiscoveryBackoff",
    "InverterReading",
    "MeterReading",
    "ModbusRequestError",
    "ModelChainError",
    "ModelLocation",
    "ModelValues",
    "MpptReading",
    "NoSunSpecMarkerError",
    "OutOfRangeError",
    "ReadBackMismatchError",
    "RegisterWrite",
    "SunSpecDevice",
    "SunSpecError",
    "SunSpecMap",
    "UnsupportedModelError",
    "Value",
    "WritePlan",
    "WriteRefusedError",
]
