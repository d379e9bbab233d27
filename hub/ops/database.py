"""Which database an operator command works on: a SQLite file, or PostgreSQL (None)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from hub.startup import StartupError
from hub.store.connections import is_sqlite_file


class OpsError(StartupError):
    """An operator command cannot go on; the message says why and what to do (hub.cli prints
    it as one line, exit status 2, like the other commands' start-up errors)."""


def sqlite_path(db_url: str) -> Path | None:
    """The file of a SQLite database URL, or None for PostgreSQL (and in-memory SQLite)."""
    try:
        url = make_url(db_url)
    except Exception as err:  # sqlalchemy raises ArgumentError, or ValueError for odd ports
        raise OpsError(f"--db {db_url!r} is not a database URL: {err}") from err
    if url.get_backend_name() == "sqlite":
        if not is_sqlite_file(url):
            raise OpsError(f"--db {db_url!r} is an in-memory database: nothing to work on")
        return Path(url.database or "")
    if url.get_backend_name() != "postgresql":
        raise OpsError(f"--db {db_url!r}: only sqlite:/// and postgresql:// URLs are supported")
    return None
