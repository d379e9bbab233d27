"""Find the SunSpec register map: the 'SunS' marker, then the chain of model headers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .errors import ModbusRequestError, ModelChainError, NoSunSpecMarkerError
from .modbus_io import ModbusRegisters

_LOG = logging.getLogger(__name__)

SUNS_MARKER = (0x5375, 0x6E53)  # ASCII "SunS"
# The order the SunSpec spec recommends probing in.
BASE_ADDRESSES = (40000, 0, 50000)
END_MODEL_ID = 0xFFFF
_LAST_ADDRESS = 0xFFFF


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
    for base in bases:
        try:
            marker = await io.read(base, 2)
        except ModbusRequestError:
            continue  # nothing mapped there: the device answered "illegal address"
        if tuple(marker) == SUNS_MARKER:
            return base
    tried = ", ".join(str(b) for b in bases)
    raise NoSunSpecMarkerError(f"{io.where}: no 'SunS' marker at base address {tried}")


async def walk_models(io: ModbusRegisters, base: int) -> tuple[ModelLocation, ...]:
    models: list[ModelLocation] = []
    address = base + 2
    while True:
        if address + 1 > _LAST_ADDRESS:
            raise ModelChainError(f"{io.where}: model chain runs past address {_LAST_ADDRESS}")
        try:
            model_id, length = await io.read(address, 2)
        except ModbusRequestError:
            # Some devices omit the 0xFFFF end marker; the map simply stops.
            if not models:
                raise
            _LOG.warning("%s: model chain ends at %d without end marker", io.where, address)
            break
        if model_id == END_MODEL_ID:
            break
        models.append(ModelLocation(model_id, address, length))
        address += 2 + length
    if not models or models[0].model_id != 1:
        raise ModelChainError(f"{io.where}: SunSpec map at {base} does not start with model 1")
    return tuple(models)


async def discover(io: ModbusRegisters, bases: tuple[int, ...] = BASE_ADDRESSES) -> SunSpecMap:
    base = await find_base(io, bases)
    return SunSpecMap(base, await walk_models(io, base))
