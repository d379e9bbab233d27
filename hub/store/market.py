"""What homes offer the market: bids (periodic mode) and the order log (continuous mode)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.canonical import canonical_json
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from hub.store import schema
from hub.store.engine import Database
from hub.store.records import OrderEvent, RequestSequence, StoredBid
from hub.store.sequences import accept_request, advance_message_seq, execute_fast

_bids = schema.bids.c
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


class MarketRepository(Database):
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
                if not await conn.run_sync(advance_message_seq, message.key_id, message.seq):
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


def _save_bid(conn: Connection, bid: StoredBid, request: RequestSequence | None) -> bool:
    """Insert the bid, or replace the home's bid for the interval (True) if it has one."""
    if request is not None:
        accept_request(conn, request)
    if not advance_message_seq(conn, bid.key_id, bid.seq):
        raise ProtocolError(
            errors.REPLAY, f"bid sequence {bid.seq} is not above the last accepted one"
        )
    values = _bid_values(bid)
    where = {"home_id": bid.home_id, "interval_start": bid.interval_start}
    if execute_fast(conn, _NEW_BID[conn.dialect.name], where | values).rowcount == 1:
        return False
    replacing = {f"p_{k}": v for k, v in (where | values).items()}
    conn.execute(_REPLACE_BID, replacing)
    return True


def put_bid(conn: Connection, bid: StoredBid) -> bool:
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


def _order_event(row: Row[Any]) -> OrderEvent:
    values = row._asdict()
    if values["body"] is not None:
        values["body"] = json.loads(values["body"])
    return OrderEvent(**values)
