"""Chain parameters, fixed in the genesis entry so every verifier uses the same rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors

METER_KINDS = ("grid", "pv", "battery", "ev")
# 1: one `readings` entry per home and one entry per settled home, mint, burn and award.
# 2: one `meter_readings` table per block and one `settled_interval` table per interval, which
#    a verifier checks several times faster (new chains; a chain keeps the format of its genesis).
ENTRY_FORMATS = (1, 2)


@dataclass(frozen=True, slots=True)
class LedgerParams:
    chain_id: str
    token_unit_wh: int = 100  # one utility token per 0.1 kWh
    green_kinds: tuple[str, ...] = ("pv",)  # meter kinds whose energy carries a green certificate
    threshold: int = 1  # signatures (hub included) that make a block final
    currency: str = "EUR"
    max_reading_gap_ms: int = 3_600_000  # never interpolate across a longer gap between readings
    flex_tolerance_percent: int = 10  # a dispatch is followed within this share of its energy
    flex_idle_wh: int = 50  # "pause"/"curtail" tolerate this much extra energy
    entry_format: int = 2  # see ENTRY_FORMATS; a genesis without it is format 1

    def __post_init__(self) -> None:
        if self.token_unit_wh < 1:
            raise LedgerError(errors.INVALID_ENTRY, "token_unit_wh must be at least 1 Wh")
        if self.threshold < 1:
            raise LedgerError(errors.INVALID_ENTRY, "threshold must be at least 1")
        if not set(self.green_kinds) <= set(METER_KINDS):
            raise LedgerError(errors.INVALID_ENTRY, f"green_kinds must be among {METER_KINDS}")
        if not 0 <= self.flex_tolerance_percent <= 100 or self.max_reading_gap_ms < 1:
            raise LedgerError(errors.INVALID_ENTRY, "flex tolerance or reading gap out of range")
        if self.entry_format not in ENTRY_FORMATS:
            raise LedgerError(errors.INVALID_ENTRY, f"entry_format must be one of {ENTRY_FORMATS}")

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "chain_id": self.chain_id,
            "token_unit_wh": self.token_unit_wh,
            "green_kinds": list(self.green_kinds),
            "threshold": self.threshold,
            "currency": self.currency,
            "max_reading_gap_ms": self.max_reading_gap_ms,
            "flex_tolerance_percent": self.flex_tolerance_percent,
            "flex_idle_wh": self.flex_idle_wh,
        }
        if self.entry_format != 1:  # format-1 genesis entries were written without the field
            wire["entry_format"] = self.entry_format
        return wire

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> LedgerParams:
        try:
            return cls(
                chain_id=str(data["chain_id"]),
                token_unit_wh=int(data["token_unit_wh"]),
                green_kinds=tuple(str(kind) for kind in data["green_kinds"]),
                threshold=int(data["threshold"]),
                currency=str(data["currency"]),
                max_reading_gap_ms=int(data["max_reading_gap_ms"]),
                flex_tolerance_percent=int(data["flex_tolerance_percent"]),
                flex_idle_wh=int(data["flex_idle_wh"]),
                entry_format=int(data.get("entry_format", 1)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise LedgerError(errors.INVALID_ENTRY, f"genesis params: {err}") from err
