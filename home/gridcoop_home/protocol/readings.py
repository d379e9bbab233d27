"""Meter readings: cumulative import/export registers in Wh, signed by the meter's own key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.envelope import SignedMessage, sign_message
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError
from gridcoop_home.protocol.keys import SigningKey

METER_KINDS = ("grid", "pv", "battery", "ev")
MAX_REGISTER_WH = 10**15  # far beyond any real meter; catches garbage before it reaches the store


@dataclass(frozen=True, slots=True)
class Registers:
    import_wh: int
    export_wh: int

    def to_wire(self) -> dict[str, Any]:
        return {"import_wh": self.import_wh, "export_wh": self.export_wh}


def parse_registers(body: dict[str, Any]) -> Registers:
    unknown = set(body) - {"import_wh", "export_wh"}
    if unknown:
        raise ProtocolError(MALFORMED, f"reading has unknown fields {sorted(unknown)}")
    values = []
    for name in ("import_wh", "export_wh"):
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(MALFORMED, f"reading.{name} must be an integer (Wh)")
        if not 0 <= value <= MAX_REGISTER_WH:
            raise ProtocolError(MALFORMED, f"reading.{name} {value} outside [0, {MAX_REGISTER_WH}]")
        values.append(value)
    return Registers(import_wh=values[0], export_wh=values[1])


def sign_reading(
    meter_key: SigningKey, registers: Registers, seq: int, ts_ms: int
) -> SignedMessage:
    return sign_message(meter_key, "reading", registers.to_wire(), seq=seq, ts=ts_ms)
