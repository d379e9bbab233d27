"""Settlement entries: an interval's settlement, recomputed from the state and compared with
the entry (format 2: one `settled_interval` table; format 1: one entry per row, in order), then
applied: balances, mints, burns and flexibility awards."""

from __future__ import annotations

from typing import Any

from gridcoop_home.ledger import entries as kinds
from gridcoop_home.ledger.entries import SETTLEMENT_FIELDS, Entry
from gridcoop_home.ledger.tables import SettledInterval
from gridcoop_home.protocol import errors

from hub.ledger.accounts.fields import (
    copy_entry,
    copy_json,
    fail,
    first_difference,
    table_difference,
)
from hub.ledger.accounts.records import Lot
from hub.ledger.accounts.registry import RegistryRules
from hub.ledger.accounts.settlement import settle_interval

_BALANCE_MMINOR = SETTLEMENT_FIELDS.index("balance_mminor")
_MINT_METER = 2  # MINT_FIELDS.index("meter_key_id")


def _mint_meters(entry: Entry) -> list[str]:
    """The meters a settled_interval entry mints for (as it claims; checked after)."""
    mints = entry.get("mints")
    rows = mints.get("rows") if isinstance(mints, dict) else None
    if not isinstance(rows, list):
        return []
    return [row[_MINT_METER] for row in rows if isinstance(row, list) and len(row) > _MINT_METER]


class SettlementRules(RegistryRules):
    def settlement_batch(self, interval_start: int) -> list[Entry]:
        """The entries that settle a cleared interval, computed from the state as it is now:
        one `settled_interval` (format 2) or one entry per row (format 1).

        The hub computes a batch and then applies it: applying it reuses the computation made
        here, as long as no entry was applied in between (the state is unchanged)."""
        assert self.params is not None
        settled = self._settled(interval_start)
        if self.params.entry_format == 1:
            return [copy_entry(entry) for entry in self._format_1_entries(settled)]
        return [copy_json(settled.table_entry())]  # the caller may change its copy

    def _settled(self, interval_start: int) -> SettledInterval:
        """The interval's settlement as the current state computes it (computed once)."""
        applied, interval, settled = self._computed
        if settled is not None and applied == self.entries_applied and interval == interval_start:
            return settled
        assert self.params is not None
        clearing = self.clearings[interval_start]
        settled = settle_interval(
            clearing, self._all_meters(), self.timelines, self.balances, self.params
        )
        self._computed = (self.entries_applied, interval_start, settled)
        self._computed_entries = []
        return settled

    def _format_1_entries(self, settled: SettledInterval) -> list[Entry]:
        if not self._computed_entries:
            self._computed_entries = settled.entries()
        return self._computed_entries

    def settlement_ready(self, interval_start: int, now_ms: int, deadline_ms: int) -> bool:
        """Every participant's meters have reported past the interval, or the deadline passed."""
        clearing = self.clearings[interval_start]
        end_ms = clearing.interval_end * 1000
        if now_ms >= end_ms + deadline_ms:
            return True
        for alloc in clearing.allocations:
            for key_id, _kind in self.meters_of(alloc.home_id):
                timeline = self.timelines.get(key_id)
                if timeline is None or not timeline.reaches(end_ms):
                    return False
        return True

    def _settlement_entry(self, entry: Entry, where: str) -> None:
        """Format 1: the next entry of an interval's settlement, as recomputed."""
        kind = entry["kind"]
        if kind == kinds.MINT:
            self._check_not_minted(entry["meter_key_id"], entry["interval_start"])
        if self._batch_interval is None:
            if kind != kinds.SETTLEMENT:
                raise fail(
                    errors.INVALID_ENTRY, f"{kind} entry outside the settlement of its interval"
                )
            interval = entry["interval_start"]
            self._check_settleable(interval)
            batch, position = self._format_1_entries(self._settled(interval)), 0
        else:
            batch, position, interval = self._batch, self._batch_next, self._batch_interval
        expected = batch[position]
        if entry != expected:
            what = f"{expected['kind']} for home {expected.get('home_id')}"
            if entry.get("kind") != expected["kind"] or entry.get("home_id") != expected.get(
                "home_id"
            ):
                raise fail(
                    errors.INVALID_ENTRY,
                    f"settlement of interval {interval}: expected {what}, "
                    f"found {kind} for home {entry.get('home_id')}",
                )
            raise fail(
                errors.INVALID_ENTRY,
                f"settlement of interval {interval}: {what}: {first_difference(entry, expected)}",
            )
        self._apply_row(expected["kind"], expected, expected["interval_start"], where)
        self._batch, self._batch_next, self._batch_interval = batch, position + 1, interval
        if position + 1 == len(batch):
            self._batch = []
            self._finish_settlement(interval)

    def _settled_interval(self, entry: Entry, where: str) -> None:
        """Format 2: an interval's whole settlement in one entry, compared with the recomputed
        one in a single step."""
        interval = entry["interval_start"]
        for meter in _mint_meters(entry):
            self._check_not_minted(meter, interval)
        self._check_settleable(interval)
        expected = self._settled(interval)
        expected_entry = expected.table_entry()
        if entry != expected_entry:
            raise fail(
                errors.INVALID_ENTRY,
                f"settlement of interval {interval}: {table_difference(entry, expected_entry)}",
            )
        self._apply_rows(expected, where)
        self._finish_settlement(interval)

    def _check_not_minted(self, meter: str, interval: int) -> None:
        if (meter, interval) in self.mints:
            raise fail(
                errors.DOUBLE_MINT,
                f"meter {meter} already minted for interval {interval} "
                f"({self.mints[(meter, interval)]})",
            )

    def _check_settleable(self, interval: Any) -> None:
        if interval in self.settled:
            raise fail(errors.ALREADY_SETTLED, f"interval {interval} is already settled")
        if interval not in self.clearings:
            raise fail(errors.INVALID_ENTRY, f"interval {interval} has not been cleared")

    def _apply_rows(self, settled: SettledInterval, where: str) -> None:
        """What a checked interval settlement changes, row by row (columns:
        gridcoop_home.ledger.entries)."""
        start = settled.interval_start
        balances = self.balances
        for row in settled.settlements:
            balances[row[0]] = row[_BALANCE_MMINOR]
        for lot, home_id, meter, meter_kind, green, tokens in settled.mints:
            self._mint(lot, home_id, meter, meter_kind, green, tokens, start, where)
        for home_id, tokens, lots in settled.burns:
            self._burn(home_id, tokens, lots)
        for home_id, _device, _action, tokens in settled.flex_awards:
            self.flex[home_id] = self.flex.get(home_id, 0) + tokens

    def _apply_row(self, kind: str, row: Entry, interval_start: int, where: str) -> None:
        """What one checked format-1 settlement, mint, burn or award entry changes."""
        home_id = row["home_id"]
        if kind == kinds.SETTLEMENT:
            self.balances[home_id] = row["balance_mminor"]
        elif kind == kinds.MINT:
            meter, meter_kind, tokens = row["meter_key_id"], row["meter_kind"], row["tokens"]
            lot = row["lot"]
            self._mint(lot, home_id, meter, meter_kind, row["green"], tokens, interval_start, where)
        elif kind == kinds.BURN:
            self._burn(home_id, row["tokens"], row["lots"])
        else:
            self.flex[home_id] = self.flex.get(home_id, 0) + row["tokens"]

    def _mint(
        self,
        lot: str,
        home_id: str,
        meter: str,
        meter_kind: str,
        green: bool,
        tokens: int,
        interval_start: int,
        where: str,
    ) -> None:
        self.lots[lot] = Lot(home_id, meter, meter_kind, green, interval_start, tokens, tokens)
        self.mints[(meter, interval_start)] = where
        self.utility[home_id] = self.utility.get(home_id, 0) + tokens
        self.minted[home_id] = self.minted.get(home_id, 0) + tokens

    def _burn(self, home_id: str, tokens: int, lots: list[list[Any]]) -> None:
        """The consumer burns units lot by lot and receives their certificates."""
        held = self.certificates.setdefault(home_id, {})
        for lot_name, units in lots:
            lot = self.lots[lot_name]
            lot.unburned -= units
            self.utility[lot.home_id] -= units
            held[lot_name] = held.get(lot_name, 0) + units
        self.burned[home_id] = self.burned.get(home_id, 0) + tokens

    def _finish_settlement(self, interval: int) -> None:
        clearing = self.clearings.pop(interval)
        self.settled.add(interval)
        self._batch_interval = None
        oldest = min(self.clearings, default=clearing.interval_end)
        cutoff = min(oldest, clearing.interval_end) * 1000
        for timeline in self.timelines.values():
            timeline.prune_before(cutoff)
