"""Persistence: SQLite by default, PostgreSQL for scale-out."""

from hub.store.store import DEFAULT_DB_URL, Store

__all__ = ["DEFAULT_DB_URL", "Store"]
