"""The hub's ledger settings (the `[ledger]` table of hub.toml)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.ledger.accounts.params import METER_KINDS, LedgerParams


class LedgerSettingsError(ValueError):
    """A ledger setting is out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    enabled: bool = False  # opt-in: `[ledger] enabled = true`
    key_file: str = "gridcoop-ledger.key"  # the hub's BLS validator key (created on first start)
    threshold: int = 1  # signatures, the hub's included, that make a block final
    token_unit_wh: int = 100
    green_kinds: tuple[str, ...] = ("pv",)
    settlement_deadline_seconds: int = 3600  # settle with what arrived by then
    max_reading_gap_seconds: int = 3600  # never interpolate across a longer gap
    flex_tolerance_percent: int = 10
    flex_idle_wh: int = 50
    bls_backend: str = "auto"  # auto | arkworks | milagro | py_ecc
    readings_per_block: int = 200_000  # the most readings one block takes in (backlogs spread)

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise LedgerSettingsError("ledger.threshold must be at least 1")
        if self.token_unit_wh < 1:
            raise LedgerSettingsError("ledger.token_unit_wh must be at least 1")
        if not set(self.green_kinds) <= set(METER_KINDS):
            raise LedgerSettingsError(f"ledger.green_kinds must be among {list(METER_KINDS)}")
        if self.settlement_deadline_seconds < 0 or self.max_reading_gap_seconds < 1:
            raise LedgerSettingsError("ledger deadlines and gaps must be positive")
        if not 0 <= self.flex_tolerance_percent <= 100:
            raise LedgerSettingsError("ledger.flex_tolerance_percent must be within 0-100")
        if self.bls_backend not in ("auto", "arkworks", "milagro", "py_ecc"):
            raise LedgerSettingsError(
                "ledger.bls_backend must be auto, arkworks, milagro or py_ecc"
            )


def genesis_conflicts(
    settings: LedgerSettings, params: LedgerParams
) -> list[tuple[str, object, object]]:
    """Settings that differ from the rules a chain's genesis fixed: (name, setting, genesis).
    They cannot change once the chain exists; the entry format is not a setting at all (a chain
    keeps the format of its genesis)."""
    pairs: list[tuple[str, object, object]] = [
        ("threshold", settings.threshold, params.threshold),
        ("token_unit_wh", settings.token_unit_wh, params.token_unit_wh),
        ("green_kinds", list(settings.green_kinds), list(params.green_kinds)),
        (
            "max_reading_gap_seconds",
            settings.max_reading_gap_seconds,
            params.max_reading_gap_ms // 1000,
        ),
        ("flex_tolerance_percent", settings.flex_tolerance_percent, params.flex_tolerance_percent),
        ("flex_idle_wh", settings.flex_idle_wh, params.flex_idle_wh),
    ]
    return [(name, wanted, fixed) for name, wanted, fixed in pairs if wanted != fixed]
