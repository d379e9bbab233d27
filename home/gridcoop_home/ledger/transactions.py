"""Entries a home writes itself: transfers and retirements, signed with its Ed25519 home key.

The signature covers the canonical JSON of every field but "sig", under a domain tag, so a
signature for one purpose can never be replayed as another. `seq` must increase per home key.
"""

from __future__ import annotations

from typing import Any

from gridcoop_home.ledger.entries import COMMUNITY, RETIRE, TRANSFER, Entry
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.canonical import canonical_json
from gridcoop_home.protocol.keys import SigningKey, verify

TX_DOMAIN = "gridcoop-ledger-tx-v1"
ASSETS = ("flex", "certificate")
MAX_PURPOSE = 200
MAX_UNITS = 10**9
_FIELDS = {
    TRANSFER: {
        "kind",
        "home_id",
        "asset",
        "to",
        "lot",
        "units",
        "memo",
        "key_id",
        "seq",
        "ts",
        "sig",
    },
    RETIRE: {"kind", "home_id", "lot", "units", "purpose", "key_id", "seq", "ts", "sig"},
}


def signed_payload(entry: Entry) -> bytes:
    return canonical_json({"domain": TX_DOMAIN, **{k: v for k, v in entry.items() if k != "sig"}})


def _sign(key: SigningKey, unsigned: Entry) -> Entry:
    return {**unsigned, "sig": key.sign(signed_payload(unsigned))}


def build_transfer(
    key: SigningKey,
    home_id: str,
    *,
    asset: str,
    units: int,
    to: str = COMMUNITY,
    lot: str | None = None,
    memo: str = "",
    seq: int,
    ts: int,
) -> Entry:
    """Flexibility tokens (`asset="flex"`) or certificates of one lot to another account."""
    return _sign(
        key,
        {
            "kind": TRANSFER,
            "home_id": home_id,
            "asset": asset,
            "to": to,
            "lot": lot,
            "units": units,
            "memo": memo,
            "key_id": key.key_id,
            "seq": seq,
            "ts": ts,
        },
    )


def build_retirement(
    key: SigningKey, home_id: str, *, lot: str, units: int, purpose: str, seq: int, ts: int
) -> Entry:
    """Retire `units` green certificates of `lot` for `purpose` (final and public)."""
    return _sign(
        key,
        {
            "kind": RETIRE,
            "home_id": home_id,
            "lot": lot,
            "units": units,
            "purpose": purpose,
            "key_id": key.key_id,
            "seq": seq,
            "ts": ts,
        },
    )


def signature_valid(entry: Entry, public_key: str) -> bool:
    sig = entry.get("sig")
    return isinstance(sig, str) and verify(public_key, signed_payload(entry), sig)


def parse_transaction(data: Any) -> Entry:
    """Check a home transaction's shape (not its signature or balances: the ledger state does)."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("kind"), str)
        or data["kind"] not in _FIELDS
    ):
        raise LedgerError(errors.MALFORMED, "a transaction is an object with kind transfer|retire")
    kind = data["kind"]
    if set(data) != _FIELDS[kind]:
        raise LedgerError(
            errors.MALFORMED, f"{kind} needs exactly the fields {sorted(_FIELDS[kind])}"
        )
    canonical_json(data)  # integers only, string keys
    for name in ("home_id", "key_id", "sig"):
        if not isinstance(data[name], str) or not data[name]:
            raise LedgerError(errors.MALFORMED, f"{name} must be a non-empty string")
    for name in ("seq", "ts", "units"):
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise LedgerError(errors.MALFORMED, f"{name} must be a non-negative integer")
    if not 0 < data["units"] <= MAX_UNITS:
        raise LedgerError(errors.MALFORMED, f"units must be within 1-{MAX_UNITS}")
    if kind == TRANSFER:
        _check_transfer(data)
    else:
        if not isinstance(data["lot"], str) or not data["lot"]:
            raise LedgerError(errors.MALFORMED, "lot must name a certificate lot")
        purpose = data["purpose"]
        if not isinstance(purpose, str) or not 0 < len(purpose) <= MAX_PURPOSE:
            raise LedgerError(errors.MALFORMED, f"purpose must be 1-{MAX_PURPOSE} characters")
    return data


def _check_transfer(data: Entry) -> None:
    if data["asset"] not in ASSETS:
        raise LedgerError(errors.MALFORMED, f"asset must be one of {list(ASSETS)}")
    if not isinstance(data["to"], str) or not data["to"]:
        raise LedgerError(errors.MALFORMED, "to must name an account")
    if data["to"] == data["home_id"]:
        # Well formed (the schema cannot compare two fields), so not `malformed`.
        raise LedgerError(errors.INVALID_ENTRY, "a transfer must go to another account")
    if data["asset"] == "certificate" and (not isinstance(data["lot"], str) or not data["lot"]):
        raise LedgerError(errors.MALFORMED, "a certificate transfer must name its lot")
    if data["asset"] == "flex" and data["lot"] is not None:
        raise LedgerError(errors.MALFORMED, "flexibility tokens have no lot")
    if not isinstance(data["memo"], str) or len(data["memo"]) > MAX_PURPOSE:
        raise LedgerError(errors.MALFORMED, f"memo must be at most {MAX_PURPOSE} characters")
