"""Format-2 settlement tables and the format-1 entries they stand for.

A light client reads its own row from a `settled_interval` entry; the hub and every verifier
build and check the same tables (hub.ledger.accounts.settlement).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridcoop_home.ledger.entries import SETTLED_INTERVAL, SETTLEMENT_TABLES, Entry


@dataclass(frozen=True, slots=True)
class SettledInterval:
    """Everything that settles one interval, as table rows (columns: gridcoop_home.ledger.entries).

    One computation serves both entry formats: format 1 writes one entry per row (`entries`),
    format 2 one table entry (`table_entry`)."""

    interval_start: int
    settlements: list[list[Any]]
    mints: list[list[Any]]
    burns: list[list[Any]]
    flex_awards: list[list[Any]]

    def tables(self) -> tuple[list[list[Any]], ...]:
        return self.settlements, self.mints, self.burns, self.flex_awards

    def entries(self) -> list[Entry]:
        """Format 1, in chain order: settlements, mints, burns, awards."""
        start = self.interval_start
        return [
            {"kind": kind, "interval_start": start, **dict(zip(fields, row, strict=True))}
            for (_name, kind, fields), rows in zip(SETTLEMENT_TABLES, self.tables(), strict=True)
            for row in rows
        ]

    def table_entry(self) -> Entry:
        """Format 2: the rows are this object's own lists (copy before changing them)."""
        entry: Entry = {"kind": SETTLED_INTERVAL, "interval_start": self.interval_start}
        for (name, _kind, fields), rows in zip(SETTLEMENT_TABLES, self.tables(), strict=True):
            entry[name] = {"fields": list(fields), "rows": rows}
        return entry

    @classmethod
    def from_table_entry(cls, entry: Entry) -> SettledInterval:
        """The rows of a checked format-2 entry (to expand it into format-1 entries)."""
        tables = (entry[name]["rows"] for name, _kind, _fields in SETTLEMENT_TABLES)
        return cls(entry["interval_start"], *tables)


def expand(entry: Entry) -> list[Entry]:
    """A format-2 settlement as the format-1 entries it stands for; any other entry as itself."""
    if entry.get("kind") == SETTLED_INTERVAL:
        return SettledInterval.from_table_entry(entry).entries()
    return [entry]
