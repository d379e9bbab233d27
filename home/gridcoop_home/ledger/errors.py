"""Ledger refusals are protocol errors: a stable reason code and a precise explanation."""

from __future__ import annotations

from gridcoop_home.protocol.errors import ProtocolError


class LedgerError(ProtocolError):
    """An entry, block or signature broke a ledger rule. Nothing was changed."""
