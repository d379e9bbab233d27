"""Turn what the hub stored (homes, readings, cleared intervals) into ledger entries. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from gridcoop_home.ledger.entries import (
    ALLOCATION_FIELDS,
    CLEARING,
    ENROL,
    METER_READINGS,
    READING_FIELDS,
    READINGS,
    REVOKE,
    Entry,
)
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol.allocation import Allocation

from hub.ledger.accounts.state import LedgerState


def enrolment_entries(registry: Sequence[Mapping[str, Any]], state: LedgerState) -> list[Entry]:
    """An `enrol` entry for each home the ledger has not seen, with every key it has."""
    return [
        {
            "kind": ENROL,
            "home_id": home["home_id"],
            "bus": home["bus"],
            "keys": [
                {
                    "key_id": key["key_id"],
                    "kind": key["kind"],
                    "name": key["name"],
                    "public_key": key["public_key"],
                }
                for key in sorted(home["keys"], key=lambda k: k["key_id"])
            ],
        }
        for home in sorted(registry, key=lambda h: h["home_id"])
        if home["home_id"] not in state.homes
    ]


def revocation_entries(registry: Sequence[Mapping[str, Any]], state: LedgerState) -> list[Entry]:
    """A `revoke` entry for each home or key revoked since the ledger last looked."""
    found: list[Entry] = []
    for home in sorted(registry, key=lambda h: h["home_id"]):
        known = state.homes.get(home["home_id"])
        if known is None or known.revoked:
            continue
        if home["revoked"]:
            found.append({"kind": REVOKE, "home_id": home["home_id"], "key_id": None})
            continue
        for key in sorted(home["keys"], key=lambda k: k["key_id"]):
            info = state.keys.get(key["key_id"])
            if key["revoked"] and info is not None and not info.revoked:
                found.append({"kind": REVOKE, "home_id": home["home_id"], "key_id": key["key_id"]})
    return found


def readings_entries(
    rows: Sequence[Sequence[Any]], state: LedgerState
) -> tuple[list[Entry], list[tuple[list[Any], LedgerError]]]:
    """(entries, refused readings). Format 2: one `meter_readings` table of the readings the
    ledger accepts; format 1: one `readings` entry per home. Each meter's readings are in
    sequence order.

    `rows` are (reading_id, home_id, key_id, seq, ts, import_wh, export_wh, sig).
    """
    assert state.params is not None
    if state.params.entry_format == 2:
        table, refused = state.split_readings(
            sorted(
                [key_id, seq, ts, import_wh, export_wh, sig]
                for _id, _home, key_id, seq, ts, import_wh, export_wh, sig in rows
            )
        )
        if not table:
            return [], refused
        return [{"kind": METER_READINGS, "fields": list(READING_FIELDS), "rows": table}], refused
    by_home: dict[str, list[list[Any]]] = defaultdict(list)
    for _id, home_id, key_id, seq, ts, import_wh, export_wh, sig in rows:
        by_home[home_id].append([key_id, seq, ts, import_wh, export_wh, sig])
    entries: list[Entry] = [
        {
            "kind": READINGS,
            "home_id": home_id,
            "readings": sorted(readings, key=lambda r: (r[0], r[1])),
        }
        for home_id, readings in sorted(by_home.items())
    ]
    return entries, []


def clearing_entry(
    cleared: Mapping[str, Any], priorities: Mapping[str, int], entry_format: int
) -> Entry:
    """The `clearing` entry of one stored interval (`cleared["allocations"]`: ClearedAllocation),
    its allocations as objects (entry format 1) or as a table (format 2)."""
    entry = _clearing_entry(cleared, priorities)
    if entry_format == 2:
        entry["allocations"] = allocation_table(entry["allocations"])
    return entry


def allocation_table(allocations: Sequence[Mapping[str, Any]]) -> Entry:
    """Format 2's allocations: a table with one row per home (columns: ALLOCATION_FIELDS)."""
    rows = [[a[name] for name in ALLOCATION_FIELDS] for a in allocations]
    return {"fields": list(ALLOCATION_FIELDS), "rows": rows}


class ClearedAllocation(NamedTuple):
    """A stored allocation with the signed bid it answers: what a `clearing` entry records."""

    allocation: Allocation
    bid_key_id: str
    bid_seq: int


def allocation_entry(cleared: ClearedAllocation, priority: int) -> Entry:
    """An allocation as a `clearing` entry records it (format 1's object; format 2's table row
    holds the same values, see allocation_table). The one mapping from the protocol's
    Allocation into the ledger; replay reads it back in LedgerState (settlement.Allocation)."""
    a = cleared.allocation
    return {
        "home_id": a.home_id,
        "bought_local_wh": a.bought_local_wh,
        "sold_local_wh": a.sold_local_wh,
        "bought_grid_wh": a.bought_grid_wh,
        "sold_grid_wh": a.sold_grid_wh,
        "paid_mminor": a.paid_mminor,
        "received_mminor": a.received_mminor,
        "fees_mminor": a.fees_mminor,
        "bid_key_id": cleared.bid_key_id,
        "bid_seq": cleared.bid_seq,
        "bid_digest": a.bid_digest,
        "priority": priority,
        "dispatch": [[d.device, d.action, d.energy_wh] for d in a.dispatch],
    }


def _clearing_entry(cleared: Mapping[str, Any], priorities: Mapping[str, int]) -> Entry:
    return {
        "kind": CLEARING,
        "interval_start": cleared["interval_start"],
        "interval_end": cleared["interval_end"],
        "price": cleared["price"],
        "volume_wh": cleared["volume_wh"],
        "retail_price": cleared["retail_price"],
        "feed_in_price": cleared["feed_in_price"],
        "fee_per_kwh": cleared["fee_per_kwh"],
        "k_percent": cleared["k_percent"],
        "allocations": [
            allocation_entry(a, priorities.get(a.allocation.home_id, 0))
            for a in cleared["allocations"]
        ],
    }
