"""Entry kinds and their canonical encoding.

An entry is a JSON object with a "kind"; its bytes are the canonical JSON (hub.protocol.canonical)
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
"""

from __future__ import annotations

from typing import Any

from hub.ledger.merkle import leaf_hash
from hub.protocol.canonical import canonical_json

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
)
SETTLEMENT_KINDS = frozenset({SETTLEMENT, MINT, BURN, FLEX_AWARD})
HOME_SIGNED_KINDS = frozenset({TRANSFER, RETIRE})
COMMUNITY = "community"  # the account flexibility tokens are spent into


Entry = dict[str, Any]


def encode_entry(entry: Entry) -> bytes:
    return canonical_json(entry)


def entry_hash(raw: bytes) -> bytes:
    return leaf_hash(raw)


def home_of(entry: Entry) -> str | None:
    """The home an entry is about, if any (indexes a home's entries for proofs)."""
    home = entry.get("home_id")
    return home if isinstance(home, str) else None


def interval_of(entry: Entry) -> int | None:
    value = entry.get("interval_start")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
