"""Async persistence over SQLAlchemy Core: SQLite (WAL) by default, PostgreSQL when it grows.

Market and protocol code never see this module; the server passes plain records in and out.
Every multi-row change happens in one transaction, so a rejected item or a crash never leaves
half-written state behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, TypeVar

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.canonical import canonical_json
from gridcoop_home.protocol.enrolment import Enrolment
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import key_id_of
from gridcoop_home.protocol.reading_rules import (
    ACCEPTED,
    MeterState,
    ReadingWindow,
    Verdict,
    judge_batch,
)
from sqlalchemy import (
    Connection,
    CursorResult,
    Row,
    and_,
    bindparam,
    create_engine,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, RootTransaction, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import UpdateBase

from hub.store import migrations, schema
from hub.store.records import (
    AllocationRecord,
    HomeRecord,
    IntervalRecord,
    KeyIdentity,
    KeyRecord,
    OrderEvent,
    ReadingRecord,
    RequestSequence,
    StoredBid,
)

DEFAULT_DB_URL = "sqlite:///gridcoop-hub.db"
MIGRATION_LOCK = 0x6772_6964_6D69_6772  # a PostgreSQL advisory lock key held while migrating
JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: codes get read aloud
GROUP_COMMIT_MAX = 200  # writes per SQLite transaction: bounds how long one holds the lock
GROUP_COMMIT_YIELD = 16  # writes run between two yields to the event loop (a few ms)
CONCURRENT_WRITES = 10  # PostgreSQL request writes in flight per process (the pool holds 15)
T = TypeVar("T")


class RequestRefused(ProtocolError):
    """A signed request refused as such (`replay`, `home_revoked`, `revoked_key`): its
    sequence was not accepted."""


def async_url(url: str) -> str:
    """Accept plain sqlite:/// and postgresql:// URLs and pick the async driver."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def hash_join_code(code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_join_code() -> str:
    raw = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite allows one writer; serialising writers in-process avoids "database is locked".
        self._write_lock = asyncio.Lock()
        # key id -> its immutable facts; only enrolled keys get in, so it stays bounded.
        self._identities: dict[str, KeyIdentity] = {}
        self._group_commit: GroupCommit | None = None
        # PostgreSQL: request writes beyond this wait here, not in the connection pool (which
        # gives up after 30 s) and not holding connections that reads and the clearing need.
        self._concurrent_writes = asyncio.Semaphore(CONCURRENT_WRITES)

    @classmethod
    async def open(cls, url: str = DEFAULT_DB_URL) -> Store:
        engine = create_async_engine(async_url(url))
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_connect)
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
        store = cls(engine)
        try:
            async with store._write() as conn:
                if not store.is_sqlite:  # workers starting together migrate one at a time
                    await conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                await conn.run_sync(migrations.upgrade)
        except BaseException:
            await engine.dispose()  # a refused database must not leave connections open
            raise
        if _is_sqlite_file(engine.url):
            store._group_commit = GroupCommit(
                engine.url.set(drivername="sqlite"), store._write_lock
            )
        return store

    async def close(self) -> None:
        group_commit, self._group_commit = self._group_commit, None  # closing twice is fine
        if group_commit is not None:
            await group_commit.close()
        await self._engine.dispose()

    async def _hot_write(self, work: Callable[[Connection], T]) -> T:
        """One short write transaction of the request path (readings, bids, request sequences).

        SQLite: committed together with whatever else is waiting (GroupCommit). PostgreSQL: its
        own transaction without the in-process lock; row locks keep concurrent ones apart, and
        PostgreSQL commits concurrent transactions with one WAL flush by itself."""
        if self._group_commit is not None:
            return await self._group_commit.run(work)
        if self.is_sqlite:  # an in-memory database: only the async engine's connection sees it
            async with self._write() as conn:
                return await conn.run_sync(work)
        async with self._concurrent_writes, self._engine.connect() as conn, conn.begin():
            return await conn.run_sync(work)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction. On SQLite it starts with BEGIN IMMEDIATE: it takes the write lock
        before reading, so another process can never slip a change between our read and write."""
        async with self._write_lock, self._engine.connect() as conn:
            conn = await conn.execution_options(**{SQLITE_WRITE: True})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            yield conn

    # -- homes, keys, enrolment -------------------------------------------------------------

    async def create_join_code(self, name: str, bus: int | None, now_ms: int, ttl_ms: int) -> str:
        code = new_join_code()
        async with self._write() as conn:
            await conn.execute(
                insert(schema.join_codes).values(
                    code_hash=hash_join_code(code),
                    name=name,
                    bus=bus,
                    created_at=now_ms,
                    expires_at=now_ms + ttl_ms,
                )
            )
        return code

    async def enrol(self, enrolment: Enrolment, now_ms: int) -> HomeRecord:
        """Consume the join code and whitelist the home's keys, all or nothing."""
        async with self._write() as conn:
            code = (
                await conn.execute(
                    select(schema.join_codes).where(
                        schema.join_codes.c.code_hash == hash_join_code(enrolment.join_code)
                    )
                )
            ).first()
            _check_join_code(code, now_ms)
            assert code is not None
            home_id = secrets.token_hex(8)
            used = await conn.execute(
                update(schema.join_codes)
                .where(
                    schema.join_codes.c.code_hash == code.code_hash,
                    schema.join_codes.c.used_at.is_(None),
                )
                .values(used_at=now_ms, home_id=home_id)
            )
            if used.rowcount != 1:  # someone else used it between our read and write
                raise ProtocolError(errors.USED_JOIN_CODE, "this join code has already been used")
            await conn.execute(
                insert(schema.homes).values(
                    home_id=home_id, name=code.name, bus=code.bus, created_at=now_ms
                )
            )
            key_rows = [
                {"name": "home", "kind": "home", "public_key": enrolment.home_key},
                *(
                    {"name": m.name, "kind": m.kind, "public_key": m.public_key}
                    for m in enrolment.meters
                ),
            ]
            try:
                await conn.execute(
                    insert(schema.keys),
                    [
                        {
                            **row,
                            "key_id": key_id_of(row["public_key"]),
                            "home_id": home_id,
                            "created_at": now_ms,
                        }
                        for row in key_rows
                    ],
                )
            except IntegrityError as err:
                raise ProtocolError(
                    errors.DUPLICATE_KEY, "one of these keys is already enrolled"
                ) from err
        home = await self.get_home(home_id)
        assert home is not None
        return home

    async def get_home(self, home_id: str) -> HomeRecord | None:
        homes = await self.list_homes(home_id)
        return homes[0] if homes else None

    async def list_homes(self, home_id: str | None = None) -> list[HomeRecord]:
        async with self._read() as conn:
            query = select(schema.homes).order_by(schema.homes.c.created_at)
            key_query = select(schema.keys).order_by(schema.keys.c.created_at, schema.keys.c.name)
            if home_id is not None:
                query = query.where(schema.homes.c.home_id == home_id)
                key_query = key_query.where(schema.keys.c.home_id == home_id)
            home_rows = (await conn.execute(query)).all()
            key_rows = (await conn.execute(key_query)).all()
        keys_by_home: dict[str, list[KeyRecord]] = {}
        for row in key_rows:
            keys_by_home.setdefault(row.home_id, []).append(_key_record(row))
        return [
            HomeRecord(
                home_id=row.home_id,
                name=row.name,
                bus=row.bus,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
                keys=tuple(keys_by_home.get(row.home_id, [])),
            )
            for row in home_rows
        ]

    async def home_buses(self) -> dict[str, int]:
        """home_id -> bus of every home given a bus at invite (revoked ones included)."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.homes.c.home_id, schema.homes.c.bus).where(
                    schema.homes.c.bus.is_not(None)
                )
            )
            return {row.home_id: int(row.bus) for row in rows}

    async def revoke_home(self, home_id: str, now_ms: int) -> bool:
        """Revoke a home and every key it holds. Returns False for an unknown home."""
        async with self._write() as conn:
            result = await conn.execute(
                update(schema.homes)
                .where(schema.homes.c.home_id == home_id, schema.homes.c.revoked_at.is_(None))
                .values(revoked_at=now_ms)
            )
            await conn.execute(
                update(schema.keys)
                .where(schema.keys.c.home_id == home_id, schema.keys.c.revoked_at.is_(None))
                .values(revoked_at=now_ms)
            )
            return result.rowcount == 1

    async def revoke_key(self, key_id: str, now_ms: int) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(schema.keys)
                .where(schema.keys.c.key_id == key_id, schema.keys.c.revoked_at.is_(None))
                .values(revoked_at=now_ms)
            )
            return result.rowcount == 1

    async def get_key(self, key_id: str) -> KeyRecord | None:
        async with self._read() as conn:
            row = (
                await conn.execute(select(schema.keys).where(schema.keys.c.key_id == key_id))
            ).first()
        return _key_record(row) if row is not None else None

    async def public_keys(self, key_ids: Iterable[str]) -> dict[str, str]:
        identities = await self.key_identities(key_ids)
        return {key_id: identity.public_key for key_id, identity in identities.items()}

    async def key_identities(self, key_ids: Iterable[str]) -> dict[str, KeyIdentity]:
        """The enrolled keys among `key_ids`. Cached: a key's home, kind and public key never
        change and keys are never deleted, so no other worker can make an entry stale."""
        wanted = set(key_ids)
        missing = {key_id for key_id in wanted if key_id not in self._identities}
        if missing:
            k = schema.keys.c
            async with self._read() as conn:
                rows = await conn.execute(
                    select(k.key_id, k.home_id, k.kind, k.public_key).where(k.key_id.in_(missing))
                )
                for row in rows:
                    self._identities[row.key_id] = KeyIdentity(
                        row.key_id, row.home_id, row.kind, row.public_key
                    )
        return {key_id: self._identities[key_id] for key_id in wanted if key_id in self._identities}

    async def accept_request(self, request: RequestSequence) -> None:
        """Accept a signed request's sequence on its own; raises `home_revoked`, `revoked_key`
        or `replay` (the routes that write pass it to that write instead: one transaction)."""
        await self._hot_write(partial(_accept_request, request=request))

    async def revocation(self, key_id: str) -> RequestRefused | None:
        """`home_revoked` or `revoked_key` when that is what the key's requests are refused for
        now (`unknown_key` for a key that is not enrolled); None for a key in good standing."""
        async with self._read() as conn:
            return await conn.run_sync(_revocation, key_id)

    async def accept_sequence(self, key_id: str, seq: int, scope: str) -> bool:
        """Atomically move a key's last sequence forward; False means a replay."""
        column = schema.keys.c[f"last_{scope}_seq"]
        async with self._write() as conn:
            result = await conn.execute(
                update(schema.keys)
                .where(
                    schema.keys.c.key_id == key_id,
                    or_(column.is_(None), column < seq),
                )
                .values({column: seq})
            )
            return result.rowcount == 1

    # -- operator settings ----------------------------------------------------------------------

    async def get_settings(self) -> dict[str, Any]:
        async with self._read() as conn:
            rows = await conn.execute(select(schema.settings))
            return {row.key: json.loads(row.value) for row in rows}

    async def put_setting(self, key: str, value: Any, now_ms: int) -> None:
        encoded = json.dumps(value, sort_keys=True)
        async with self._write() as conn:
            updated = await conn.execute(
                update(schema.settings)
                .where(schema.settings.c.key == key)
                .values(value=encoded, updated_at=now_ms)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    insert(schema.settings).values(key=key, value=encoded, updated_at=now_ms)
                )

    # -- readings ----------------------------------------------------------------------------

    async def ingest_readings(
        self,
        home_id: str,
        items: Sequence[SignedMessage | ProtocolError],
        signature_ok: dict[int, bool],
        now_ms: int,
        window: ReadingWindow,
        request: RequestSequence | None = None,
    ) -> list[Verdict]:
        """Judge and store a batch in one transaction; rejected items change nothing.

        With `request`, the upload's request sequence is accepted in the same transaction
        (refused requests raise, see accept_request, and store nothing)."""
        return await self._hot_write(
            partial(
                _ingest,
                home_id=home_id,
                items=items,
                signature_ok=signature_ok,
                now_ms=now_ms,
                window=window,
                request=request,
            )
        )

    async def readings_for(
        self, home_id: str, since_ms: int = 0, limit: int = 1000
    ) -> list[ReadingRecord]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.readings)
                .where(schema.readings.c.home_id == home_id, schema.readings.c.ts >= since_ms)
                .order_by(schema.readings.c.ts, schema.readings.c.reading_id)
                .limit(limit)
            )
            return [
                ReadingRecord(
                    meter_key_id=row.meter_key_id,
                    seq=row.seq,
                    ts=row.ts,
                    import_wh=row.import_wh,
                    export_wh=row.export_wh,
                    digest=row.digest,
                )
                for row in rows
            ]

    async def count_readings(self) -> int:
        async with self._read() as conn:
            count = (await conn.execute(select(func.count()).select_from(schema.readings))).scalar()
            return int(count or 0)

    # -- bids ----------------------------------------------------------------------------------

    async def save_bid(
        self,
        home_id: str,
        message: SignedMessage,
        interval_start: int,
        now_ms: int,
        request: RequestSequence | None = None,
    ) -> bool:
        """Insert or replace the home's bid for the interval; the message sequence must advance.
        True when it replaced an earlier bid. With `request`, the request sequence is accepted in
        the same transaction (a refused bid leaves it unaccepted too)."""
        bid = StoredBid(
            home_id=home_id,
            interval_start=interval_start,
            key_id=message.key_id,
            seq=message.seq,
            ts=message.ts,
            body=message.body,
            digest=message.digest,
            sig=message.sig,
            received_at=now_ms,
        )
        return await self._hot_write(partial(_save_bid, bid=bid, request=request))

    async def get_bid(self, home_id: str, interval_start: int) -> StoredBid | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.bids).where(
                        schema.bids.c.home_id == home_id,
                        schema.bids.c.interval_start == interval_start,
                    )
                )
            ).first()
        return _stored_bid(row) if row is not None else None

    async def bids_for_interval(self, interval_start: int) -> list[StoredBid]:
        """Bids of homes that are still enrolled, ordered by home id (deterministic input)."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.bids)
                .join(schema.homes, schema.homes.c.home_id == schema.bids.c.home_id)
                .join(schema.keys, schema.keys.c.key_id == schema.bids.c.key_id)
                .where(
                    schema.bids.c.interval_start == interval_start,
                    schema.homes.c.revoked_at.is_(None),
                    schema.keys.c.revoked_at.is_(None),
                )
                .order_by(schema.bids.c.home_id)
            )
            return [_stored_bid(row) for row in rows]

    async def uncleared_bid_intervals(self, before_or_at: int) -> list[int]:
        """Interval starts that have bids but no clearing yet (a hub that was down catches up)."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.bids.c.interval_start)
                .distinct()
                .outerjoin(
                    schema.intervals,
                    schema.intervals.c.interval_start == schema.bids.c.interval_start,
                )
                .where(
                    schema.bids.c.interval_start <= before_or_at,
                    schema.intervals.c.interval_start.is_(None),
                )
                .order_by(schema.bids.c.interval_start)
            )
            return [int(row.interval_start) for row in rows]

    # -- continuous market: the order log ------------------------------------------------------

    async def save_order(
        self, home_id: str, order_id: str, message: SignedMessage, interval_start: int, now_ms: int
    ) -> None:
        """Log an accepted order; its message sequence must advance and its id be new."""
        try:
            async with self._write() as conn:
                if not await conn.run_sync(_advance_message_seq, message.key_id, message.seq):
                    raise ProtocolError(
                        errors.REPLAY,
                        f"order sequence {message.seq} is not above the last accepted one",
                    )
                await conn.execute(
                    insert(schema.order_events).values(
                        interval_start=interval_start,
                        kind="submit",
                        order_id=order_id,
                        home_id=home_id,
                        key_id=message.key_id,
                        seq=message.seq,
                        ts=message.ts,
                        body=canonical_json(message.body).decode(),
                        digest=message.digest,
                        sig=message.sig,
                        received_at=now_ms,
                    )
                )
        except IntegrityError as err:
            raise ProtocolError(
                errors.DUPLICATE_ORDER, f"order {order_id!r} exists already; ids are used once"
            ) from err

    async def save_cancel(
        self, home_id: str, order_id: str, interval_start: int, now_ms: int
    ) -> None:
        async with self._write() as conn:
            await conn.execute(
                insert(schema.order_events).values(
                    interval_start=interval_start,
                    kind="cancel",
                    order_id=order_id,
                    home_id=home_id,
                    received_at=now_ms,
                )
            )

    async def order_events(self, interval_start: int) -> list[OrderEvent]:
        """An interval's order log in arrival order."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.order_events)
                .where(schema.order_events.c.interval_start == interval_start)
                .order_by(schema.order_events.c.event_id)
            )
            return [_order_event(row) for row in rows]

    async def order_interval(self, order_id: str) -> int | None:
        """The interval an order was submitted for; None for an unknown order id."""
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.order_events.c.interval_start).where(
                        schema.order_events.c.order_id == order_id,
                        schema.order_events.c.kind == "submit",
                    )
                )
            ).first()
        return None if row is None else int(row.interval_start)

    async def uncleared_order_intervals(self, before_or_at: int) -> list[int]:
        """Interval starts that have orders but no clearing yet (a hub that was down catches up)."""
        events, intervals = schema.order_events.c, schema.intervals.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(events.interval_start)
                .distinct()
                .outerjoin(schema.intervals, intervals.interval_start == events.interval_start)
                .where(events.interval_start <= before_or_at, intervals.interval_start.is_(None))
                .order_by(events.interval_start)
            )
            return [int(row.interval_start) for row in rows]

    # -- clearing results ----------------------------------------------------------------------

    async def save_clearing(
        self,
        interval: IntervalRecord,
        allocations: Sequence[AllocationRecord],
        network: dict[str, Any] | None = None,
        derived_bids: Sequence[StoredBid] = (),
    ) -> bool:
        """Store an interval's result; False when it was already cleared (exactly once).

        `network`: the IntervalNetwork (nodal prices...) of a clearing on a feeder.
        `derived_bids`: in continuous mode, each home's orders as one bid (what the allocations
        and the ledger refer to), stored in place of any bid the home had for the interval."""
        row = {
            **interval.to_wire(),
            "binding": json.dumps(interval.binding, sort_keys=True),
            "network": None if network is None else json.dumps(network, sort_keys=True),
        }
        try:
            async with self._write() as conn:
                await conn.execute(insert(schema.intervals).values(row))
                for bid in derived_bids:
                    await conn.run_sync(_put_bid, bid)
                if allocations:
                    await conn.execute(
                        insert(schema.allocations),
                        [
                            {**a.to_wire(), "dispatch": json.dumps(a.dispatch, sort_keys=True)}
                            for a in allocations
                        ],
                    )
        except IntegrityError:
            return False
        return True

    async def get_interval(self, interval_start: int) -> IntervalRecord | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(*_INTERVAL_COLUMNS).where(
                        schema.intervals.c.interval_start == interval_start
                    )
                )
            ).first()
        return _interval(row) if row is not None else None

    async def get_interval_network(self, interval_start: int) -> dict[str, Any] | None:
        """The IntervalNetwork stored with a clearing on a feeder; None otherwise."""
        async with self._read() as conn:
            value = (
                await conn.execute(
                    select(schema.intervals.c.network).where(
                        schema.intervals.c.interval_start == interval_start
                    )
                )
            ).scalar_one_or_none()
        return None if value is None else dict(json.loads(value))

    async def list_intervals(
        self, start_from: int, start_to: int, limit: int
    ) -> list[IntervalRecord]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(*_INTERVAL_COLUMNS)
                .where(
                    and_(
                        schema.intervals.c.interval_start >= start_from,
                        schema.intervals.c.interval_start <= start_to,
                    )
                )
                .order_by(schema.intervals.c.interval_start.desc())
                .limit(limit)
            )
            return [_interval(row) for row in rows]

    async def latest_interval(self) -> IntervalRecord | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(*_INTERVAL_COLUMNS)
                    .order_by(schema.intervals.c.interval_start.desc())
                    .limit(1)
                )
            ).first()
        return _interval(row) if row is not None else None

    async def allocations_for_home(
        self, home_id: str, start_from: int, start_to: int, limit: int
    ) -> list[AllocationRecord]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.allocations)
                .where(
                    schema.allocations.c.home_id == home_id,
                    schema.allocations.c.interval_start >= start_from,
                    schema.allocations.c.interval_start <= start_to,
                )
                .order_by(schema.allocations.c.interval_start.desc())
                .limit(limit)
            )
            return [_allocation(row) for row in rows]

    async def allocations_for_interval(self, interval_start: int) -> list[AllocationRecord]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.allocations)
                .where(schema.allocations.c.interval_start == interval_start)
                .order_by(schema.allocations.c.home_id)
            )
            return [_allocation(row) for row in rows]

    # -- WebSocket outbox (several workers) --------------------------------------------------------

    async def add_events(
        self, events: Sequence[tuple[str | None, dict[str, Any]]], now_ms: int, channel: str
    ) -> None:
        """Store (home_id or None, message) pairs for every worker to push, and NOTIFY `channel`
        (PostgreSQL) with the last event id in the same transaction."""
        if not events:
            return
        rows = [
            {"created_at": now_ms, "home_id": home_id, "message": json.dumps(message)}
            for home_id, message in events
        ]
        async with self._write() as conn:
            await conn.execute(insert(schema.hub_events), rows)
            if not self.is_sqlite:
                last = "(SELECT max(event_id) FROM hub_events)::text"
                await conn.execute(
                    text(f"SELECT pg_notify(:channel, {last})"), {"channel": channel}
                )

    async def events_after(
        self, event_id: int, limit: int = 1000
    ) -> list[tuple[int, str | None, dict[str, Any]]]:
        """(event id, home_id or None, message) of the outbox after `event_id`, oldest first."""
        e = schema.hub_events.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(e.event_id, e.home_id, e.message)
                .where(e.event_id > event_id)
                .order_by(e.event_id)
                .limit(limit)
            )
            return [(int(r.event_id), r.home_id, json.loads(r.message)) for r in rows]

    async def last_event_id(self) -> int:
        async with self._read() as conn:
            value = (await conn.execute(select(func.max(schema.hub_events.c.event_id)))).scalar()
        return int(value or 0)

    async def prune_events(self, before_ms: int) -> int:
        """Forget outbox messages older than `before_ms` (every worker has pushed them)."""
        async with self._write() as conn:
            result = await conn.execute(
                schema.hub_events.delete().where(schema.hub_events.c.created_at < before_ms)
            )
            return int(result.rowcount)


SQLITE_WRITE = "gridcoop_sqlite_write"
# An interval's columns but the (possibly large) per-bus network details.
_INTERVAL_COLUMNS = [c for c in schema.intervals.c if c.name != "network"]


# The request path's statements, built once with bound parameters: building a statement and
# computing its cache key costs about ten times what executing it from SQLAlchemy's compiled
# cache does. (Bound parameter names differ from column names, which UPDATE reserves.)
_keys, _homes, _bids = schema.keys.c, schema.homes.c, schema.bids.c
_ACCEPT_REQUEST = (
    update(schema.keys)
    .where(
        _keys.key_id == bindparam("p_key_id"),
        _keys.revoked_at.is_(None),
        ~exists().where(_homes.home_id == _keys.home_id, _homes.revoked_at.is_not(None)),
        or_(_keys.last_request_seq.is_(None), _keys.last_request_seq < bindparam("p_seq")),
    )
    .values(last_request_seq=bindparam("p_seq"))
)
_REVOCATION = (
    select(_keys.revoked_at, _homes.revoked_at.label("home_revoked_at"))
    .join_from(schema.keys, schema.homes, _homes.home_id == _keys.home_id)
    .where(_keys.key_id == bindparam("p_key_id"))
)
_METER_STATES = select(schema.keys).where(_keys.key_id.in_(bindparam("p_ids", expanding=True)))
_METER_STATES_LOCKED = _METER_STATES.with_for_update()  # other workers wait for our commit
_STORED_DIGESTS = select(schema.readings.c.digest).where(
    schema.readings.c.digest.in_(bindparam("p_digests", expanding=True))
)
_INSERT_READINGS = insert(schema.readings)
_SAVE_METER_STATE = (
    update(schema.keys)
    .where(_keys.key_id == bindparam("p_key_id"))
    .values(
        last_message_seq=bindparam("p_seq"),
        last_reading_ts=bindparam("p_ts"),
        last_import_wh=bindparam("p_import_wh"),
        last_export_wh=bindparam("p_export_wh"),
    )
)
_ADVANCE_MESSAGE_SEQ = (
    update(schema.keys)
    .where(
        _keys.key_id == bindparam("p_key_id"),
        or_(_keys.last_message_seq.is_(None), _keys.last_message_seq < bindparam("p_seq")),
    )
    .values(last_message_seq=bindparam("p_seq"))
)
_BID_FIELDS = ("key_id", "seq", "ts", "body", "digest", "sig", "received_at")
_REPLACE_BID = (
    update(schema.bids)
    .where(
        _bids.home_id == bindparam("p_home_id"),
        _bids.interval_start == bindparam("p_interval_start"),
    )
    .values({name: bindparam(f"p_{name}") for name in _BID_FIELDS})
)
_INSERT_BID = insert(schema.bids)
# Most bids are their home's first for the interval: inserted in one statement when new.
_NEW_BID = {
    name: insert_new(schema.bids).on_conflict_do_nothing(
        index_elements=[_bids.home_id, _bids.interval_start]
    )
    for name, insert_new in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


def _accept_request(conn: Connection, request: RequestSequence) -> None:
    """Move a home key's request sequence forward, unless the key or its home is revoked."""
    moved = conn.execute(_ACCEPT_REQUEST, {"p_key_id": request.key_id, "p_seq": request.seq})
    if moved.rowcount != 1:
        refusal = _revocation(conn, request.key_id)
        raise refusal or RequestRefused(
            errors.REPLAY, f"request sequence {request.seq} was already used"
        )


def _revocation(conn: Connection, key_id: str) -> RequestRefused | None:
    row = conn.execute(_REVOCATION, {"p_key_id": key_id}).first()
    if row is None:
        return RequestRefused(errors.UNKNOWN_KEY, f"key {key_id} is not enrolled")
    if row.home_revoked_at is not None:  # first: revoking a home revokes its keys too
        return RequestRefused(errors.HOME_REVOKED, "this home has been revoked by the hub operator")
    if row.revoked_at is not None:
        return RequestRefused(errors.REVOKED_KEY, "this home key has been revoked")
    return None


def _ingest(
    conn: Connection,
    home_id: str,
    items: Sequence[SignedMessage | ProtocolError],
    signature_ok: dict[int, bool],
    now_ms: int,
    window: ReadingWindow,
    request: RequestSequence | None,
) -> list[Verdict]:
    if request is not None:
        _accept_request(conn, request)
    messages = [item for item in items if isinstance(item, SignedMessage)]
    states = _meter_states(conn, {m.key_id for m in messages})
    stored = _stored_digests(conn, [m.digest for m in messages if _may_be_stored(m, states)])
    verdicts, changed = judge_batch(home_id, items, states, stored, signature_ok, now_ms, window)
    rows = [
        {
            "meter_key_id": item.key_id,
            "home_id": home_id,
            "seq": item.seq,
            "ts": item.ts,
            "import_wh": verdict.registers.import_wh,
            "export_wh": verdict.registers.export_wh,
            "digest": item.digest,
            "sig": item.sig,
            "received_at": now_ms,
        }
        for item, verdict in zip(items, verdicts, strict=True)
        if verdict.status == ACCEPTED
        and isinstance(item, SignedMessage)
        and verdict.registers is not None
    ]
    if rows:
        conn.execute(_INSERT_READINGS, rows)
    for state in changed.values():
        conn.execute(
            _SAVE_METER_STATE,
            {
                "p_key_id": state.key_id,
                "p_seq": state.last_seq,
                "p_ts": state.last_ts,
                "p_import_wh": state.import_wh,
                "p_export_wh": state.export_wh,
            },
        )
    return verdicts


def _meter_states(conn: Connection, key_ids: set[str]) -> dict[str, MeterState]:
    if not key_ids:
        return {}
    query = _METER_STATES if conn.dialect.name == "sqlite" else _METER_STATES_LOCKED
    return {
        row.key_id: MeterState(
            key_id=row.key_id,
            home_id=row.home_id,
            kind=row.kind,
            public_key=row.public_key,
            revoked=row.revoked_at is not None,
            last_seq=row.last_message_seq,
            last_ts=row.last_reading_ts,
            import_wh=row.last_import_wh,
            export_wh=row.last_export_wh,
        )
        for row in conn.execute(query, {"p_ids": sorted(key_ids)})
    }


def _may_be_stored(message: SignedMessage, states: dict[str, MeterState]) -> bool:
    """Whether a reading can already be in the store. Storing one moves its key's message
    sequence up to at least its own, and keys are never deleted, so a reading above that
    sequence (or of an unknown key) cannot be: the common case needs no digest lookup."""
    state = states.get(message.key_id)
    return state is not None and state.last_seq is not None and message.seq <= state.last_seq


def _stored_digests(conn: Connection, digests: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(digests), 500):  # stay below bind-parameter limits
        rows = conn.execute(_STORED_DIGESTS, {"p_digests": digests[start : start + 500]})
        found.update(row.digest for row in rows)
    return found


def _save_bid(conn: Connection, bid: StoredBid, request: RequestSequence | None) -> bool:
    """Insert the bid, or replace the home's bid for the interval (True) if it has one."""
    if request is not None:
        _accept_request(conn, request)
    if not _advance_message_seq(conn, bid.key_id, bid.seq):
        raise ProtocolError(
            errors.REPLAY, f"bid sequence {bid.seq} is not above the last accepted one"
        )
    values = _bid_values(bid)
    where = {"home_id": bid.home_id, "interval_start": bid.interval_start}
    if _execute(conn, _NEW_BID[conn.dialect.name], where | values).rowcount == 1:
        return False
    replacing = {f"p_{k}": v for k, v in (where | values).items()}
    conn.execute(_REPLACE_BID, replacing)
    return True


def _execute(conn: Connection, statement: UpdateBase, params: dict[str, Any]) -> CursorResult[Any]:
    """Run one of the request path's statements. On SQLite it goes to the driver as SQL compiled
    once: SQLAlchemy's own work per execution costs more than SQLite's (~13 us against ~5 us a
    statement, 200 bids an interval). The statements bind only plain integers and strings,
    which need no conversion on the way."""
    if conn.dialect.name != "sqlite":
        return conn.execute(statement, params)
    sql, names = _sqlite_sql(statement)
    return conn.exec_driver_sql(sql, tuple(params[name] for name in names))


@cache
def _sqlite_sql(statement: UpdateBase) -> tuple[str, tuple[str, ...]]:
    """The statement's SQLite text and the names of its positional parameters, in order."""
    compiled = statement.compile(dialect=sqlite.dialect())
    return str(compiled), tuple(compiled.positiontup or ())


def _advance_message_seq(conn: Connection, key_id: str, seq: int) -> bool:
    """Move the signing key's message sequence forward; False means a replay."""
    moved = _execute(conn, _ADVANCE_MESSAGE_SEQ, {"p_key_id": key_id, "p_seq": seq})
    return moved.rowcount == 1


def _bid_values(bid: StoredBid) -> dict[str, Any]:
    """A bid's stored columns besides its home and interval."""
    return {
        "key_id": bid.key_id,
        "seq": bid.seq,
        "ts": bid.ts,
        "body": canonical_json(bid.body).decode(),
        "digest": bid.digest,
        "sig": bid.sig,
        "received_at": bid.received_at,
    }


def _put_bid(conn: Connection, bid: StoredBid) -> bool:
    """Insert or replace a home's bid for an interval (no sequence check: a derived bid).
    True when it replaced one."""
    values = _bid_values(bid)
    where = {"p_home_id": bid.home_id, "p_interval_start": bid.interval_start}
    replaced = conn.execute(_REPLACE_BID, where | {f"p_{k}": v for k, v in values.items()})
    if replaced.rowcount:
        return True
    conn.execute(
        _INSERT_BID, {"home_id": bid.home_id, "interval_start": bid.interval_start, **values}
    )
    return False


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


class GroupCommit:
    """Short SQLite write transactions of many requests, committed as one.

    Each request's write (a function of a sync Connection) waits in a queue; one flusher takes
    everything queued once it holds the writer lock and runs it in a single transaction, each
    write in a savepoint: a write that raises leaves nothing behind and the others still
    commit. Callers hear their outcome only after the commit (an acknowledged write is durable)
    and see the same result as if the writes had run one after another. Why: every commit waits
    for an fsync, and aiosqlite costs several thread hops per statement; here a whole queue
    costs two hops and one fsync.
    """

    def __init__(self, url: URL, write_lock: asyncio.Lock) -> None:
        # Opened and committed on the writer thread, written to on the event loop (never both
        # at once: the writer lock is held throughout).
        self._engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(self._engine, "connect", _sqlite_connect)
        event.listen(self._engine, "begin", _sqlite_begin)
        self._lock = write_lock
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="gridcoop-writer")
        self._queue: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Connection], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="gridcoop-group-commit")
        return await future

    async def _flush(self) -> None:
        while self._queue:
            async with self._lock:  # what queues while we wait joins this transaction
                batch = self._queue[:GROUP_COMMIT_MAX]
                del self._queue[:GROUP_COMMIT_MAX]
                outcomes = await self._transaction([work for work, _future in batch])
            for (_work, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the caller gave up waiting
                    continue
                if isinstance(outcome, _Failed):
                    future.set_exception(outcome.error)
                else:
                    future.set_result(outcome)

    async def _transaction(self, works: list[Callable[[Connection], Any]]) -> list[Any]:
        """BEGIN and COMMIT on the writer thread: they may wait for another process's lock
        and for the disk. The writes themselves run here: sqlite3 lets go of the GIL for every
        statement, and a thread taking it back from a busy event loop waits up to a switch
        interval (5 ms) each time."""
        loop = asyncio.get_running_loop()
        try:
            conn, transaction = await loop.run_in_executor(self._thread, self._begin)
        except Exception as err:
            return [_Failed(err)] * len(works)
        try:
            if len(works) == 1:  # alone, the transaction is its savepoint
                outcomes = [_outcome(conn, works[0])]
                commit = not isinstance(outcomes[0], _Failed)
            else:
                outcomes = []
                for n, work in enumerate(works, 1):
                    outcomes.append(_in_savepoint(conn, work))
                    if n % GROUP_COMMIT_YIELD == 0:  # a long queue: let requests in between
                        await asyncio.sleep(0)
                commit = True
            await loop.run_in_executor(self._thread, _finish, conn, transaction, commit)
        except BaseException as err:  # none of it is stored
            conn.close()  # rolls back what is left and gives the database's write lock back
            if not isinstance(err, Exception):  # cancelled
                raise
            return [_Failed(err)] * len(works)
        return outcomes

    def _begin(self) -> tuple[Connection, RootTransaction]:
        conn = self._engine.connect().execution_options(**{SQLITE_WRITE: True})
        try:
            return conn, conn.begin()
        except BaseException:
            conn.close()
            raise

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)  # what was acknowledged as queued gets written
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()


def _outcome(conn: Connection, work: Callable[[Connection], Any]) -> Any:
    try:
        return work(conn)
    except Exception as err:
        return _Failed(err)


def _finish(conn: Connection, transaction: RootTransaction, commit: bool) -> None:
    try:
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
    finally:
        conn.close()


def _in_savepoint(conn: Connection, work: Callable[[Connection], Any]) -> Any:
    # Plain SQL: SQLAlchemy's savepoints compile a new statement each time.
    conn.exec_driver_sql("SAVEPOINT gridcoop_write")
    outcome = _outcome(conn, work)
    if isinstance(outcome, _Failed):
        conn.exec_driver_sql("ROLLBACK TO gridcoop_write")
    conn.exec_driver_sql("RELEASE gridcoop_write")
    return outcome


def _is_sqlite_file(url: URL) -> bool:
    """A SQLite database a second connection can open (not an in-memory one)."""
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    return url.get_backend_name() == "sqlite" and not in_memory


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver would otherwise BEGIN on its own only before DML (not DDL, not SELECT), which
    # leaves migrations and read-then-write sequences outside any transaction. SQLAlchemy's
    # documented remedy: switch that off and emit BEGIN ourselves (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged reading survives power loss
    cursor.execute("PRAGMA busy_timeout=10000")  # the CLI may write while the server runs
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get(SQLITE_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _check_join_code(code: Row[Any] | None, now_ms: int) -> None:
    if code is None:
        raise ProtocolError(errors.UNKNOWN_JOIN_CODE, "this join code is not known to the hub")
    if code.used_at is not None:
        raise ProtocolError(errors.USED_JOIN_CODE, "this join code has already been used")
    if code.expires_at <= now_ms:
        raise ProtocolError(
            errors.EXPIRED_JOIN_CODE, "this join code has expired; ask for a new one"
        )


def _key_record(row: Row[Any]) -> KeyRecord:
    return KeyRecord(
        key_id=row.key_id,
        home_id=row.home_id,
        kind=row.kind,
        name=row.name,
        public_key=row.public_key,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _stored_bid(row: Row[Any]) -> StoredBid:
    return StoredBid(
        home_id=row.home_id,
        interval_start=row.interval_start,
        key_id=row.key_id,
        seq=row.seq,
        ts=row.ts,
        body=json.loads(row.body),
        digest=row.digest,
        sig=row.sig,
        received_at=row.received_at,
    )


def _interval(row: Row[Any]) -> IntervalRecord:
    values = row._asdict()
    values["binding"] = json.loads(values["binding"])
    return IntervalRecord(**values)


def _order_event(row: Row[Any]) -> OrderEvent:
    values = row._asdict()
    if values["body"] is not None:
        values["body"] = json.loads(values["body"])
    return OrderEvent(**values)


def _allocation(row: Row[Any]) -> AllocationRecord:
    values = row._asdict()
    values["dispatch"] = json.loads(values["dispatch"])
    return AllocationRecord(**values)
