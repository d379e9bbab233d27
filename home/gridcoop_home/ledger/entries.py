"""Entry kinds and their canonical encoding.

An entry is a JSON object with a "kind"; its bytes are the canonical JSON
(gridcoop_home.protocol.canonical)
and its identity is the Merkle leaf hash of those bytes. Entries are stored and exported as those
exact bytes, so every verifier hashes what the hub hashed.

| kind        | written by | what it records                                                   |
|-------------|------------|-------------------------------------------------------------------|
| genesis     | hub        | chain id, parameters, the hub's validator key and its PoP         |
| validator   | hub        | a witness joins: BLS key, proof of possession, sponsoring home    |
| enrol       | hub        | a home and its public keys                                        |
| revoke      | hub        | a home or one key revoked                                         |
| readings    | hub        | a home's accepted signed meter readings (with the meter signature)|
| clearing    | hub        | an interval's result and every allocation with its bid digest     |
| settlement  | hub        | one home's settled interval: measured vs allocated, money, balance|
| mint        | hub        | utility tokens for one (meter, interval), with their certificate  |
| burn        | hub        | a consumer's settled local energy: tokens burned, certificates in |
| flex_award  | hub        | a flexibility token for a followed dispatch command               |
| transfer    | a home     | flexibility tokens or certificates moved, signed by the home key  |
| retire      | a home     | green certificates retired for a purpose, signed by the home key  |

Entry format 2 (`LedgerParams.entry_format`, new chains) records the two kinds that make up most
of a chain as tables instead, so a block holds a handful of entries rather than one per home:

| kind                | replaces                          | holds                                  |
|---------------------|-----------------------------------|----------------------------------------|
| meter_readings      | readings (one per home)           | every accepted reading of the block    |
| settled_interval    | settlement, mint, burn, flex_award| one interval's settlement, all homes   |

and a format-2 `clearing` holds its allocations as a table too (columns: ALLOCATION_FIELDS).

A table is {"fields": [column names], "rows": [[values], ...]}; the columns are fixed below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gridcoop_home.ledger.merkle import leaf_hash
from gridcoop_home.protocol.canonical import canonical_json

GENESIS = "genesis"
VALIDATOR = "validator"
ENROL = "enrol"
REVOKE = "revoke"
READINGS = "readings"
CLEARING = "clearing"
SETTLEMENT = "settlement"
MINT = "mint"
BURN = "burn"
FLEX_AWARD = "flex_award"
TRANSFER = "transfer"
RETIRE = "retire"
METER_READINGS = "meter_readings"
SETTLED_INTERVAL = "settled_interval"

KINDS = (
    GENESIS,
    VALIDATOR,
    ENROL,
    REVOKE,
    READINGS,
    CLEARING,
    SETTLEMENT,
    MINT,
    BURN,
    FLEX_AWARD,
    TRANSFER,
    RETIRE,
    METER_READINGS,
    SETTLED_INTERVAL,
)
FORMAT_1_KINDS = frozenset({READINGS, SETTLEMENT, MINT, BURN, FLEX_AWARD})
FORMAT_2_KINDS = frozenset({METER_READINGS, SETTLED_INTERVAL})
SETTLEMENT_KINDS = frozenset({SETTLEMENT, MINT, BURN, FLEX_AWARD})
HOME_SIGNED_KINDS = frozenset({TRANSFER, RETIRE})
COMMUNITY = "community"  # the account flexibility tokens are spent into

# The columns of the format-2 tables: each row holds what the format-1 entry of the same name
# holds, less what the table entry already says (its kind and interval).
READING_FIELDS = ("key_id", "seq", "ts", "import_wh", "export_wh", "sig")
SETTLEMENT_FIELDS = (
    "home_id",
    "metered",
    "start",
    "end",
    "taken_wh",
    "delivered_wh",
    "allocated_in_wh",
    "allocated_out_wh",
    "market_mminor",
    "imbalance_wh",
    "imbalance_mminor",
    "amount_mminor",
    "balance_mminor",
    "amount_minor",
    "balance_minor",
)
ALLOCATION_FIELDS = (
    "home_id",
    "bought_local_wh",
    "sold_local_wh",
    "bought_grid_wh",
    "sold_grid_wh",
    "paid_mminor",
    "received_mminor",
    "fees_mminor",
    "bid_key_id",
    "bid_seq",
    "bid_digest",
    "priority",
    "dispatch",
)
MINT_FIELDS = ("lot", "home_id", "meter_key_id", "meter_kind", "green", "tokens")
BURN_FIELDS = ("home_id", "tokens", "lots")
FLEX_AWARD_FIELDS = ("home_id", "device", "action", "tokens")
# settled_interval's tables: (entry field, the format-1 kind of its rows, columns)
SETTLEMENT_TABLES = (
    ("settlements", SETTLEMENT, SETTLEMENT_FIELDS),
    ("mints", MINT, MINT_FIELDS),
    ("burns", BURN, BURN_FIELDS),
    ("flex_awards", FLEX_AWARD, FLEX_AWARD_FIELDS),
)


Entry = dict[str, Any]


def encode_entry(entry: Entry) -> bytes:
    return canonical_json(entry)


def kind_marker(kind: str) -> bytes:
    """The bytes that name an entry's kind in its canonical JSON."""
    return b'"kind":' + canonical_json(kind)


def kinds_pattern(entry_kinds: Iterable[str]) -> re.Pattern[bytes]:
    """Finds any of these kinds' markers in one scan of an entry's bytes (a hit may also be
    text inside another entry: decode it to be sure)."""
    return re.compile(b"|".join(re.escape(kind_marker(kind)) for kind in sorted(entry_kinds)))


def entry_hash(raw: bytes) -> bytes:
    return leaf_hash(raw)


def reading_rows(entry: Entry) -> list[list[Any]]:
    """The (key_id, seq, ts, import_wh, export_wh, sig) rows of a readings entry of either
    format; none for other entries."""
    if entry.get("kind") == READINGS:
        return list(entry["readings"])
    if entry.get("kind") == METER_READINGS:
        return list(entry["rows"])
    return []


def allocations_of(clearing: Entry) -> list[Entry]:
    """A clearing entry's allocations as one object per home, whichever the format."""
    allocations = clearing["allocations"]
    if isinstance(allocations, dict):  # format 2: a table
        return [dict(zip(allocations["fields"], row, strict=True)) for row in allocations["rows"]]
    return list(allocations)


def home_of(entry: Entry) -> str | None:
    """The home an entry is about, if any (indexes a home's entries for proofs)."""
    home = entry.get("home_id")
    return home if isinstance(home, str) else None


def interval_of(entry: Entry) -> int | None:
    value = entry.get("interval_start")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
