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
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Row, and_, event, func, insert, or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hub.protocol import errors
from hub.protocol.canonical import canonical_json
from hub.protocol.enrolment import Enrolment
from hub.protocol.envelope import SignedMessage
from hub.protocol.errors import ProtocolError
from hub.protocol.keys import key_id_of
from hub.protocol.reading_rules import (
    ACCEPTED,
    MeterState,
    ReadingWindow,
    Verdict,
    judge_batch,
)
from hub.store import migrations, schema
from hub.store.records import (
    AllocationRecord,
    HomeRecord,
    IntervalRecord,
    KeyRecord,
    OrderEvent,
    ReadingRecord,
    StoredBid,
)

DEFAULT_DB_URL = "sqlite:///gridcoop-hub.db"
MIGRATION_LOCK = 0x6772_6964_6D69_6772  # a PostgreSQL advisory lock key held while migrating
JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: codes get read aloud


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
        return store

    async def close(self) -> None:
        await self._engine.dispose()

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
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.keys.c.key_id, schema.keys.c.public_key).where(
                    schema.keys.c.key_id.in_(set(key_ids))
                )
            )
            return {row.key_id: row.public_key for row in rows}

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
    ) -> list[Verdict]:
        """Judge and store a batch in one transaction; rejected items change nothing."""
        messages = [item for item in items if isinstance(item, SignedMessage)]
        async with self._write() as conn:
            states = await self._meter_states(conn, {m.key_id for m in messages})
            stored = await self._stored_digests(conn, [m.digest for m in messages])
            verdicts, changed = judge_batch(
                home_id, items, states, stored, signature_ok, now_ms, window
            )
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
                await conn.execute(insert(schema.readings), rows)
            for state in changed.values():
                await conn.execute(
                    update(schema.keys)
                    .where(schema.keys.c.key_id == state.key_id)
                    .values(
                        last_message_seq=state.last_seq,
                        last_reading_ts=state.last_ts,
                        last_import_wh=state.import_wh,
                        last_export_wh=state.export_wh,
                    )
                )
        return verdicts

    async def _meter_states(
        self, conn: AsyncConnection, key_ids: set[str]
    ) -> dict[str, MeterState]:
        if not key_ids:
            return {}
        query = select(schema.keys).where(schema.keys.c.key_id.in_(key_ids))
        if not self.is_sqlite:
            query = query.with_for_update()
        rows = (await conn.execute(query)).all()
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
            for row in rows
        }

    async def _stored_digests(self, conn: AsyncConnection, digests: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(digests), 500):  # stay below bind-parameter limits
            chunk = digests[start : start + 500]
            rows = await conn.execute(
                select(schema.readings.c.digest).where(schema.readings.c.digest.in_(chunk))
            )
            found.update(row.digest for row in rows)
        return found

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
        self, home_id: str, message: SignedMessage, interval_start: int, now_ms: int
    ) -> None:
        """Insert or replace the home's bid for the interval; the message sequence must advance."""
        async with self._write() as conn:
            await _advance_message_seq(conn, message, "bid")
            await _put_bid(
                conn,
                StoredBid(
                    home_id=home_id,
                    interval_start=interval_start,
                    key_id=message.key_id,
                    seq=message.seq,
                    ts=message.ts,
                    body=message.body,
                    digest=message.digest,
                    sig=message.sig,
                    received_at=now_ms,
                ),
            )

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
                await _advance_message_seq(conn, message, "order")
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
                    await _put_bid(conn, bid)
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


async def _advance_message_seq(conn: AsyncConnection, message: SignedMessage, what: str) -> None:
    """Move the signing key's message sequence forward, or refuse the message as a replay."""
    moved = await conn.execute(
        update(schema.keys)
        .where(
            schema.keys.c.key_id == message.key_id,
            or_(
                schema.keys.c.last_message_seq.is_(None),
                schema.keys.c.last_message_seq < message.seq,
            ),
        )
        .values(last_message_seq=message.seq)
    )
    if moved.rowcount != 1:
        raise ProtocolError(
            errors.REPLAY, f"{what} sequence {message.seq} is not above the last accepted one"
        )


async def _put_bid(conn: AsyncConnection, bid: StoredBid) -> None:
    """Insert or replace a home's bid for an interval (no sequence check: a derived bid)."""
    values = {
        "key_id": bid.key_id,
        "seq": bid.seq,
        "ts": bid.ts,
        "body": canonical_json(bid.body).decode(),
        "digest": bid.digest,
        "sig": bid.sig,
        "received_at": bid.received_at,
    }
    replaced = await conn.execute(
        update(schema.bids)
        .where(
            schema.bids.c.home_id == bid.home_id,
            schema.bids.c.interval_start == bid.interval_start,
        )
        .values(values)
    )
    if replaced.rowcount == 0:
        await conn.execute(
            insert(schema.bids).values(
                home_id=bid.home_id, interval_start=bid.interval_start, **values
            )
        )


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
