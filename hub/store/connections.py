"""How the store connects: database URLs, SQLite's pragmas and its BEGIN."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL, make_url

DEFAULT_DB_URL = "sqlite:///gridcoop-hub.db"
# An execution option: a SQLite transaction that writes starts with BEGIN IMMEDIATE.
SQLITE_WRITE = "gridcoop_sqlite_write"


def async_url(url: str) -> str:
    """Accept plain sqlite:/// and postgresql:// URLs and pick the async driver."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite_file(url: URL) -> bool:
    """A SQLite database a second connection can open (not an in-memory one)."""
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    return url.get_backend_name() == "sqlite" and not in_memory


def sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver would otherwise BEGIN on its own only before DML (not DDL, not SELECT), which
    # leaves migrations and read-then-write sequences outside any transaction. SQLAlchemy's
    # documented remedy: switch that off and emit BEGIN ourselves (see sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged reading survives power loss
    cursor.execute("PRAGMA busy_timeout=10000")  # the CLI may write while the server runs
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get(SQLITE_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
