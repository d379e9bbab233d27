"""Find the SunSpec register map: the 'SunS' marker, then the chain of model headers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .errors import (
    DeviceBusyError,
    DeviceUnreachableError,
    ModbusRequestError,
    ModelChainError,
    NoSunSpecMarkerError,
)
from .modbus_io import ModbusRegisters

_LOG = logging.getLogger(__name__)

SUNS_MARKER = (0x5375, 0x6E53)  # ASCII "SunS"
# The order the SunSpec spec recommends probing in.
BASE_ADDRESSES = (40000, 0, 50000)
END_MODEL_ID = 0xFFFF
ILLEGAL_DATA_ADDRESS = 2  # Modbus exception code: nothing mapped at that address
LAST_ADDRESS = 0xFFFF

# Limits of the model walk. Real devices expose a handful to a few dozen models in a few
# thousand registers; a device answering nonsense (zeros, a repeated header) is stopped
# here after at most MAX_MODELS header reads instead of crawling the whole address space.
MAX_MODELS = 128
MAX_MAP_REGISTERS = 16_384  # headers and bodies of all models together


@dataclass(frozen=True, slots=True)
class ModelLocation:
    model_id: int
    address: int  # Modbus address of the model's ID register
    length: int  # L, registers after the header


@dataclass(frozen=True, slots=True)
class SunSpecMap:
    base_address: int
    models: tuple[ModelLocation, ...]

    def find(self, model_id: int) -> tuple[ModelLocation, ...]:
        return tuple(m for m in self.models if m.model_id == model_id)

    @property
    def model_ids(self) -> tuple[int, ...]:
        return tuple(m.model_id for m in self.models)


async def find_base(io: ModbusRegisters, bases: tuple[int, ...] = BASE_ADDRESSES) -> int:
    """The first base address holding 'SunS'.

    Every base is tried even if another one timed out, sent garbage or dropped the
    connection (devices that ignore reads of unmapped addresses exist). Each probe is a
    single request bounded by the connection's timeout, so the whole probe takes at most
    len(bases) timeouts (plus busy retries, and a reconnect after a dropped connection).
    """
    await io.connect()  # a device we cannot reach at all fails here, once
    outcomes: list[str] = []
    answered = False  # did any base give a Modbus answer (data or an exception)?
    for base in bases:
        try:
            marker = await io.read(base, 2)
        except (ModbusRequestError, DeviceUnreachableError) as exc:
            # An exception answer ("illegal address") tells us something; silence or busy not.
            answered = answered or (
                isinstance(exc, ModbusRequestError) and not isinstance(exc, DeviceBusyError)
            )
            outcomes.append(str(exc).removeprefix(f"{io.where}: "))
            continue
        if tuple(marker) == SUNS_MARKER:
            return base
        answered = True
        outcomes.append(f"found {marker[0]:#06x} {marker[1]:#06x} at {base}")
    tried = "; ".join(outcomes)
    if answered:
        raise NoSunSpecMarkerError(f"{io.where}: no 'SunS' marker at any base address ({tried})")
    raise DeviceUnreachableError(f"{io.where}: no answer at any SunSpec base address ({tried})")


async def walk_models(io: ModbusRegisters, base: int) -> tuple[ModelLocation, ...]:
    """The model headers after the marker, up to the end marker 0xFFFF.

    Only a complete chain is returned: a timeout, a closed connection or a device still busy
    after retries raises, rather than handing back the models read so far.
    """
    models: list[ModelLocation] = []
    address = base + 2
    total = 0
    while address + 1 <= LAST_ADDRESS:
        try:
            model_id, length = await io.read(address, 2)
        except ModbusRequestError as exc:
            if exc.code != ILLEGAL_DATA_ADDRESS or not models:
                raise
            # Some devices omit the end marker: the map stops where the addresses do.
            _LOG.warning("%s: model chain ends at %d without end marker", io.where, address)
            break
        if model_id == END_MODEL_ID:
            break
        if not models and model_id != 1:
            break  # reported below, before walking whatever follows
        if model_id == 0:
            raise ModelChainError(
                f"{io.where}: model id 0 at address {address}: not a SunSpec model header"
            )
        if address + 1 + length > LAST_ADDRESS:
            raise ModelChainError(
                f"{io.where}: model {model_id} at {address} with length {length} "
                f"runs past address {LAST_ADDRESS}"
            )
        models.append(ModelLocation(model_id, address, length))
        total += 2 + length
        if len(models) > MAX_MODELS or total > MAX_MAP_REGISTERS:
            raise ModelChainError(
                f"{io.where}: SunSpec map at {base} exceeds {MAX_MODELS} models or "
                f"{MAX_MAP_REGISTERS} registers (no end marker by address {address})"
            )
        address += 2 + length
    if not models or models[0].model_id != 1:
        raise ModelChainError(f"{io.where}: SunSpec map at {base} does not start with model 1")
    return tuple(models)


async def discover(io: ModbusRegisters, bases: tuple[int, ...] = BASE_ADDRESSES) -> SunSpecMap:
    base = await find_base(io, bases)
    return SunSpecMap(base, await walk_models(io, base))
