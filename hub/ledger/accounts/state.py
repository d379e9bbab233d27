"""The ledger's state machine: applies entries in chain order and refuses any that break a rule.

The hub applies every entry before storing it, witnesses apply every block they co-sign, and the
audit replays the whole chain: one implementation of the rules for all three. `apply` checks an
entry completely before changing anything, so a refused entry leaves the state as it was.

The rules are split by what they govern, one mixin each: the registry (genesis, validators,
homes and keys: `registry`), meter readings (`meter_readings`), clearings (`clearings`),
settlement (`settling`) and home transactions (`home_transactions`); the fields they share are
declared in `records.StateData`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gridcoop_home.ledger import entries as kinds
from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.entries import (
    COMMUNITY,
    FORMAT_1_KINDS,
    FORMAT_2_KINDS,
    SETTLEMENT_KINDS,
    Entry,
)
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors

from hub.ledger.accounts.clearings import ClearingRules
from hub.ledger.accounts.fields import fail
from hub.ledger.accounts.home_transactions import HomeTransactionRules
from hub.ledger.accounts.meter_readings import MeterReadingRules
from hub.ledger.accounts.records import HomeInfo, KeyInfo, Lot, Validator, every_block
from hub.ledger.accounts.registry import KEY_KINDS
from hub.ledger.accounts.settling import SettlementRules

__all__ = [
    "KEY_KINDS",
    "HomeInfo",
    "KeyInfo",
    "LedgerState",
    "Lot",
    "Validator",
    "every_block",
]


class LedgerState(MeterReadingRules, ClearingRules, SettlementRules, HomeTransactionRules):
    """The ledger's state; the rules of each entry kind live in the module of its mixin."""

    def __init__(
        self,
        backend: BlsBackend | None = None,
        check_meter_signatures: bool = True,
        check_readings: Callable[[int], bool] = every_block,
    ) -> None:
        self.backend = backend or get_backend()
        self.check_meter_signatures = check_meter_signatures
        self.check_readings = check_readings
        self.params = None
        self.height = 0
        self.entries_applied = 0
        self.validators = []
        self.homes = {}
        self.keys = {}
        self.timelines = {}
        self.clearings = {}
        self.cleared = {}
        self.settled = set()
        self.balances = {}
        self.flex = {}
        self.utility = {}
        self.minted = {}
        self.burned = {}
        self.lots = {}
        self.certificates = {}
        self.retired = {}
        self.retired_where = {}
        self.mints = {}
        self.tx_seq = {}
        self._meters = {}
        self._owners_of = None
        self._batch = []
        self._batch_next = 0
        self._batch_interval = None
        self._computed = (-1, -1, None)
        self._computed_entries = []
        self._handlers: dict[str, Callable[[Entry, str], None]] = {
            kinds.GENESIS: self._genesis,
            kinds.VALIDATOR: self._validator,
            kinds.ENROL: self._enrol,
            kinds.REVOKE: self._revoke,
            kinds.READINGS: self._readings,
            kinds.CLEARING: self._clearing,
            kinds.TRANSFER: self._transfer,
            kinds.RETIRE: self._retire,
            kinds.METER_READINGS: self._meter_readings,
            kinds.SETTLED_INTERVAL: self._settled_interval,
        }

    # -- applying ---------------------------------------------------------------------------

    def apply(self, entry: Entry, where: str = "") -> None:
        """Check `entry` against every rule and apply it; raise LedgerError and change nothing."""
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if self.params is None and kind != kinds.GENESIS:
            raise fail(errors.INVALID_ENTRY, "the chain must start with a genesis entry")
        if self._batch_interval is not None and kind not in SETTLEMENT_KINDS:
            raise fail(
                errors.INVALID_ENTRY,
                f"{kind} entry inside the settlement of interval {self._batch_interval}; "
                f"{len(self._batch) - self._batch_next} settlement entries still missing",
            )
        if kind in FORMAT_1_KINDS or kind in FORMAT_2_KINDS:
            self._check_format(kind)
        try:
            if kind in SETTLEMENT_KINDS:
                self._settlement_entry(entry, where)
            elif isinstance(kind, str) and kind in self._handlers:
                self._handlers[kind](entry, where)
            else:
                raise fail(errors.INVALID_ENTRY, f"unknown entry kind {kind!r}")
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            if isinstance(err, LedgerError):
                raise
            raise fail(errors.INVALID_ENTRY, f"malformed {kind} entry: {err!r}") from err
        self.entries_applied += 1

    @property
    def in_settlement(self) -> bool:
        return self._batch_interval is not None

    def _check_format(self, kind: str) -> None:
        assert self.params is not None
        chain_format = self.params.entry_format
        entry_format = 2 if kind in FORMAT_2_KINDS else 1
        if entry_format != chain_format:
            raise fail(
                errors.INVALID_ENTRY,
                f"{kind} entries belong to entry format {entry_format}; "
                f"this chain uses format {chain_format}",
            )

    # -- queries ------------------------------------------------------------------------------

    def flex_priorities(self) -> dict[str, int]:
        return {home: tokens for home, tokens in self.flex.items() if home != COMMUNITY}

    def account(self, home_id: str) -> dict[str, Any]:
        held = self.certificates.get(home_id, {})
        green = sum(u for lot, u in held.items() if self.lots[lot].green)
        balance = self.balances.get(home_id, 0)
        return {
            "home_id": home_id,
            "balance_mminor": balance,
            "balance_minor": balance // 1000,
            "flex_tokens": self.flex.get(home_id, 0),
            "utility_tokens": self.utility.get(home_id, 0),
            "tokens_minted": self.minted.get(home_id, 0),
            "tokens_burned": self.burned.get(home_id, 0),
            "green_certificates": green,
            "other_certificates": sum(held.values()) - green,
            "certificate_lots": {lot: units for lot, units in sorted(held.items()) if units},
        }
