"""Clearing entries: an interval's result and its allocations, each bid signed by the home
key of its own enrolled home, local energy balanced. Allocations are checked a column at a time
(a clearing holds one per home); on any doubt each is checked alone, naming the first problem."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from gridcoop_home.ledger.entries import ALLOCATION_FIELDS, Entry
from gridcoop_home.protocol import errors

from hub.ledger.accounts.fields import (
    LIST_ONLY,
    STR_ONLY,
    all_int,
    all_natural,
    fail,
    int_field,
    str_field,
)
from hub.ledger.accounts.registry import RegistryRules
from hub.ledger.accounts.settlement import Allocation, Clearing

# Allocation fields: energies (and the bid's seq) are natural numbers, money may be negative.
_ALLOCATION_ENERGIES = (
    "bought_local_wh",
    "sold_local_wh",
    "bought_grid_wh",
    "sold_grid_wh",
    "bid_seq",
)
_ALLOCATION_SIGNED = ("paid_mminor", "received_mminor", "priority")
_allocation_energies = itemgetter(*_ALLOCATION_ENERGIES)
_allocation_money = itemgetter(*_ALLOCATION_SIGNED)
# An allocation's columns in the order `_columns_valid` takes them.
_ALLOCATION_COLUMN_NAMES = (
    "home_id",
    *_ALLOCATION_ENERGIES,
    *_ALLOCATION_SIGNED,
    "bid_key_id",
    "bid_digest",
    "dispatch",
)
_object_columns = itemgetter(*_ALLOCATION_COLUMN_NAMES)
Columns = tuple[tuple[Any, ...], ...]  # a table read a column at a time
_row_columns = itemgetter(*(ALLOCATION_FIELDS.index(name) for name in _ALLOCATION_COLUMN_NAMES))


class ClearingRules(RegistryRules):
    def _clearing(self, entry: Entry, where: str) -> None:
        start, end = int_field(entry, "interval_start"), int_field(entry, "interval_end")
        if start in self.cleared:
            raise fail(
                errors.INVALID_ENTRY,
                f"interval {start} was already cleared ({self.cleared[start]})",
            )
        if end <= start:
            raise fail(errors.INVALID_ENTRY, "interval_end must be after interval_start")
        allocations = self._allocations(*self._allocation_columns(entry["allocations"]))
        homes = [a.home_id for a in allocations]
        if homes != sorted(set(homes)):
            raise fail(errors.INVALID_ENTRY, "allocations must be sorted by home id, one per home")
        bought = sum(a.bought_local_wh for a in allocations)
        sold = sum(a.sold_local_wh for a in allocations)
        volume = int_field(entry, "volume_wh")
        if not bought == sold == volume:
            raise fail(
                errors.INVALID_ENTRY,
                f"local energy does not balance: bought {bought}, sold {sold}, volume {volume} Wh",
            )
        clearing = Clearing(
            start,
            end,
            int_field(entry, "retail_price", None),
            int_field(entry, "feed_in_price", None),
            allocations,
        )
        self.cleared[start] = where
        if allocations:
            self.clearings[start] = clearing
        else:
            self.settled.add(start)

    def _allocation_columns(self, allocations: Any) -> tuple[Columns, Callable[[], list[Entry]]]:
        """(the allocations' columns in the order `_columns_valid` takes them, or none when they
        cannot be read that way; a function giving one object per allocation, for `_allocation`).
        Format 1 holds a list of objects, format 2 a table."""
        assert self.params is not None
        if self.params.entry_format == 1:
            if type(allocations) is not list:
                raise fail(errors.INVALID_ENTRY, "allocations must be a list")
            try:
                return tuple(zip(*map(_object_columns, allocations), strict=True)), allocations.copy
            except (KeyError, TypeError):
                return (), allocations.copy
        if type(allocations) is not dict or allocations.get("fields") != list(ALLOCATION_FIELDS):
            raise fail(errors.INVALID_ENTRY, f"allocations must be a table of {ALLOCATION_FIELDS}")
        rows = allocations["rows"]
        if type(rows) is not list or set(map(type, rows)) - LIST_ONLY:
            raise fail(errors.INVALID_ENTRY, "allocation rows must be lists")
        if set(map(len, rows)) - {len(ALLOCATION_FIELDS)}:
            raise fail(
                errors.INVALID_ENTRY, f"an allocation row holds {len(ALLOCATION_FIELDS)} values"
            )

        def objects() -> list[Entry]:
            return [dict(zip(ALLOCATION_FIELDS, row, strict=True)) for row in rows]

        return tuple(zip(*map(_row_columns, rows), strict=True)), objects

    def _allocations(
        self, columns: Columns, objects: Callable[[], list[Entry]]
    ) -> tuple[Allocation, ...]:
        """Every allocation, checked a column at a time (a clearing holds one per home); on any
        doubt each is checked on its own by `_allocation`, which names the first problem."""
        if not columns or not self._columns_valid(columns):
            return tuple(map(self._allocation, objects()))
        homes, bought, sold, bought_grid, sold_grid, _seqs, paid, got, *_rest, dispatch = columns
        commands = (
            tuple(self._allocation(raw).dispatch for raw in objects())
            if any(dispatch)
            else ((),) * len(homes)
        )
        return tuple(
            map(Allocation, homes, bought, sold, bought_grid, sold_grid, paid, got, commands)
        )

    def _columns_valid(self, columns: Columns) -> bool:
        """What `_allocation` checks, over whole columns in C: energies natural, money integral,
        each bid signed by a home key of its own (enrolled) home, digests non-empty strings."""
        homes, bought, sold, bought_grid, sold_grid, seqs, paid, got, priorities, *rest = columns
        bid_keys, digests, dispatch = rest
        owners = self._home_key_owners()
        return (
            all_natural(bought + sold + bought_grid + sold_grid + seqs)
            and all_int(paid + got + priorities)
            and set(map(type, homes + bid_keys + digests)) == STR_ONLY
            and "" not in digests
            and list(map(owners.get, bid_keys)) == list(homes)
            and set(map(type, dispatch)) == LIST_ONLY
        )

    def _allocation(self, raw: Entry) -> Allocation:
        home_id = str_field(raw, "home_id")
        if home_id not in self.homes:
            raise fail(errors.UNKNOWN_ACCOUNT, f"allocation for unknown home {home_id}")
        bid_key = self.keys.get(str_field(raw, "bid_key_id"))
        if bid_key is None or bid_key.home_id != home_id or bid_key.kind != "home":
            raise fail(errors.KEY_NOT_YOURS, f"home {home_id}: bid not signed by its home key")
        str_field(raw, "bid_digest")
        energies, money = _allocation_energies(raw), _allocation_money(raw)
        if not (all_natural(energies) and all_int(money)):
            for name in _ALLOCATION_ENERGIES:
                int_field(raw, name)
            for name in _ALLOCATION_SIGNED:
                int_field(raw, name, None)
        dispatch = tuple((str(d), str(a), int_field({"e": e}, "e")) for d, a, e in raw["dispatch"])
        bought_local, sold_local, bought_grid, sold_grid, _seq = energies
        return Allocation(
            home_id, bought_local, sold_local, bought_grid, sold_grid, money[0], money[1], dispatch
        )
