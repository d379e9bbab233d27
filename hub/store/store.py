"""Async persistence over SQLAlchemy Core: SQLite (WAL) by default, PostgreSQL when it grows.

Market and protocol code never see this package; the server passes plain records in and out.
Every multi-row change happens in one transaction, so a rejected item or a crash never leaves
half-written state behind.

`Store` is the one type the rest of the hub uses. It is assembled from one part per
responsibility, each a module of its own over the shared `Database` (hub/store/engine.py: the
engine, its write transactions, SQLite's group commit):

| part               | module       | what                                                      |
|--------------------|--------------|-----------------------------------------------------------|
| HomeRepository     | homes.py     | join codes, enrolment, keys, revocation, request sequence |
| SettingsRepository | settings.py  | the operator's settings                                   |
| ReadingRepository  | readings.py  | meter readings, judged and stored a batch at a time       |
| MarketRepository   | market.py    | bids and the continuous market's order log                |
| ClearingRepository | clearings.py | cleared intervals and their allocations                   |
| OutboxRepository   | outbox.py    | the WebSocket outbox shared by several workers            |

The ledger's tables have their own store (hub/store/ledger_store.py) over the same database.
"""

from __future__ import annotations

from hub.store.clearings import ClearingRepository
from hub.store.connections import DEFAULT_DB_URL, async_url
from hub.store.homes import HomeRepository
from hub.store.market import MarketRepository
from hub.store.outbox import OutboxRepository
from hub.store.readings import ReadingRepository
from hub.store.sequences import RequestRefused
from hub.store.settings import SettingsRepository


class Store(
    HomeRepository,
    SettingsRepository,
    ReadingRepository,
    MarketRepository,
    ClearingRepository,
    OutboxRepository,
):
    """The hub's database: open it with `await Store.open(url)`, close it with `close()`."""


__all__ = [
    "DEFAULT_DB_URL",
    "RequestRefused",
    "Store",
    "async_url",
]
