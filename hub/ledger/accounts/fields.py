"""Reading an entry's fields strictly, and naming where a recomputed entry differs."""

from __future__ import annotations

from typing import Any

from gridcoop_home.ledger.entries import Entry
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors

INT_ONLY = {int}
STR_ONLY = {str}
LIST_ONLY = {list}


def fail(reason: str, detail: str) -> LedgerError:
    return LedgerError(reason, detail)


def int_field(entry: Entry, name: str, minimum: int | None = 0) -> int:
    value = entry[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(errors.INVALID_ENTRY, f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise fail(errors.INVALID_ENTRY, f"{name} must be >= {minimum}, got {value}")
    return value


def str_field(entry: Entry, name: str) -> str:
    value = entry[name]
    if not isinstance(value, str) or not value:
        raise fail(errors.INVALID_ENTRY, f"{name} must be a non-empty string")
    return value


def all_int(values: tuple[Any, ...]) -> bool:
    """Every value an int, not a bool (the fast path of per-item checks, all in C)."""
    return set(map(type, values)) <= INT_ONLY


def all_natural(values: tuple[Any, ...]) -> bool:
    """Every value a non-negative int, not a bool."""
    return all_int(values) and min(values) >= 0


def copy_entry(entry: Entry) -> Entry:
    """A copy sharing no list with `entry` (settlement entries nest lists of lists at most)."""
    return {
        name: [list(item) if type(item) is list else item for item in value]
        if type(value) is list
        else value
        for name, value in entry.items()
    }


def copy_json(value: Any) -> Any:
    """A copy of a JSON value sharing no list or object with it."""
    if type(value) is dict:
        return {name: copy_json(item) for name, item in value.items()}
    if type(value) is list:
        return [copy_json(item) for item in value]
    return value


def first_difference(got: Entry, expected: Entry) -> str:
    for name in sorted(set(got) | set(expected)):
        if got.get(name) != expected.get(name):
            return f"{name} is {got.get(name)!r}, recomputed {expected.get(name)!r}"
    return "no difference"


def table_difference(got: Entry, expected: Entry) -> str:
    """Where a table entry first differs from the recomputed one: table, row, home and column."""
    for name in sorted(set(got) | set(expected)):
        found, wanted = got.get(name), expected.get(name)
        if found == wanted:
            continue
        if not (isinstance(found, dict) and isinstance(wanted, dict) and "rows" in wanted):
            return f"{name} is {found!r}, recomputed {wanted!r}"
        if found.get("fields") != wanted["fields"]:
            return f"{name}: fields are {found.get('fields')!r}, expected {wanted['fields']!r}"
        rows, wanted_rows = found.get("rows"), wanted["rows"]
        if not isinstance(rows, list):
            return f"{name}: rows must be a list"
        for index, (row, wanted_row) in enumerate(zip(rows, wanted_rows, strict=False)):
            if row != wanted_row:
                return f"{name} row {index}: {_row_difference(wanted['fields'], row, wanted_row)}"
        return f"{name}: {len(rows)} rows, recomputed {len(wanted_rows)}"
    return "no difference"


def _row_difference(fields: list[str], row: Any, wanted: list[Any]) -> str:
    if not isinstance(row, list) or len(row) != len(wanted):
        return f"{row!r} is not a row of {len(wanted)} values, recomputed {wanted!r}"
    for field_name, value, wanted_value in zip(fields, row, wanted, strict=True):
        if value != wanted_value:
            return (
                f"{fields[0]} {wanted[0]}: {field_name} is {value!r}, recomputed {wanted_value!r}"
            )
    return "no difference"
