"""Builders for store tests: enrolled homes with real keys, signed readings and bids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridcoop_home.protocol.enrolment import build_enrolment, parse_enrolment
from gridcoop_home.protocol.envelope import SignedMessage, sign_message
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.reading_rules import ReadingWindow
from gridcoop_home.protocol.readings import Registers, sign_reading
from sqlalchemy import inspect, text
from sqlalchemy.engine import Inspector
from sqlalchemy.ext.asyncio import create_async_engine

from hub.store import Store
from hub.store.records import HomeRecord
from hub.store.store import async_url

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
DAY = 86_400_000
WINDOW = ReadingWindow(max_age_ms=7 * DAY, max_ahead_ms=60_000)
INTERVAL = 1_767_225_600  # an interval start in seconds
QUARTER = 900

OpenStore = Callable[[], Awaitable[Store]]  # opens (or reopens: a restart) the test database


@dataclass
class EnrolledHome:
    record: HomeRecord
    home_key: SigningKey
    meters: dict[str, SigningKey] = field(default_factory=dict)

    @property
    def home_id(self) -> str:
        return self.record.home_id


async def enrol_home(
    store: Store,
    name: str = "No. 7",
    *,
    meters: dict[str, str] | None = None,
    bus: int | None = None,
    now: int = NOW,
) -> EnrolledHome:
    """Create a join code and enrol a home with fresh keys; `meters` maps name -> kind."""
    meters = {"main": "grid"} if meters is None else meters
    code = await store.create_join_code(name, bus, now_ms=now, ttl_ms=DAY)
    home_key = SigningKey.generate()
    keys = {meter: SigningKey.generate() for meter in meters}
    body = build_enrolment(code, home_key, {m: (kind, keys[m]) for m, kind in meters.items()})
    record = await store.enrol(parse_enrolment(body), now_ms=now)
    return EnrolledHome(record, home_key, keys)


def reading(
    key: SigningKey, seq: int, import_wh: int, export_wh: int = 0, ts: int | None = None
) -> SignedMessage:
    """A reading taken `seq` seconds into the hour before NOW (unless `ts` says otherwise)."""
    ts = NOW - 3_600_000 + seq * 1_000 if ts is None else ts
    return sign_reading(key, Registers(import_wh, export_wh), seq=seq, ts_ms=ts)


def signatures(items: list[SignedMessage], keys: dict[str, str]) -> dict[int, bool]:
    """What the server checks up front: does item i verify with its enrolled public key?"""
    return {
        i: item.key_id in keys and item.signature_valid(keys[item.key_id])
        for i, item in enumerate(items)
    }


def bid_message(
    key: SigningKey, seq: int, price: int = 25, interval: int = INTERVAL
) -> SignedMessage:
    body = {"interval_start": interval, "buy": [{"price": price, "energy_wh": 500, "asset": "ev"}]}
    return sign_message(key, "bid", body, seq=seq, ts=NOW)


async def run_sql(db_url: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    """Run raw SQL on its own connection (what an operator with psql/sqlite3 would see)."""
    engine = create_async_engine(async_url(db_url))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def inspect_db[T](db_url: str, what: Callable[[Inspector], T]) -> T:
    engine = create_async_engine(async_url(db_url))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync_conn: what(inspect(sync_conn)))
    finally:
        await engine.dispose()


async def table_names(db_url: str) -> set[str]:
    return set(await inspect_db(db_url, lambda i: i.get_table_names()))


async def column_names(db_url: str, table: str) -> list[str]:
    return await inspect_db(db_url, lambda i: [c["name"] for c in i.get_columns(table)])


async def index_names(db_url: str, table: str) -> set[str]:
    return await inspect_db(db_url, lambda i: {ix["name"] for ix in i.get_indexes(table)})


async def wipe(db_url: str) -> None:
    """Make the test database empty again (a brand-new database for the next Store.open)."""
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    await run_sql(db_url, "DROP SCHEMA public CASCADE")
    await run_sql(db_url, "CREATE SCHEMA public")


def _schema_signature(inspector: Inspector) -> dict[str, Any]:
    """Everything about the schema that matters, independent of column order."""
    return {
        table: {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
            ),
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in inspector.get_foreign_keys(table)
            ),
        }
        for table in sorted(inspector.get_table_names())
    }


async def schema_signature(db_url: str) -> dict[str, Any]:
    return await inspect_db(db_url, _schema_signature)
