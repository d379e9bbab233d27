"""Read-only aggregate queries for the dashboard that the Store does not offer.

They use the store's tables (hub.store.schema) and engine directly, with SQLAlchemy Core that runs
unchanged on SQLite and PostgreSQL. Money is in milli-minor units (price x Wh), energy in Wh.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store import Store, schema

_iv = schema.intervals.c


@asynccontextmanager
async def _read(store: Store) -> AsyncIterator[AsyncConnection]:
    # The store keeps its engine private; reading through it is what this module is for.
    async with store._engine.connect() as conn:
        yield conn


def _int(value: Any) -> int:
    """SUM() gives int on SQLite and Decimal on PostgreSQL; None for no rows."""
    return int(value or 0)


# -- homes ----------------------------------------------------------------------------------------


async def count_homes(store: Store) -> int:
    """Homes enrolled and not revoked."""
    async with _read(store) as conn:
        query = (
            select(func.count())
            .select_from(schema.homes)
            .where(schema.homes.c.revoked_at.is_(None))
        )
        return _int((await conn.execute(query)).scalar())


async def last_seen(store: Store, since_ms: int) -> dict[str, int]:
    """Per home, the latest sign of life at or after `since_ms` (UTC ms): the timestamp of its
    latest meter reading, or when the hub received its latest bid. Homes silent since are absent.
    """
    keys, bids, homes = schema.keys.c, schema.bids.c, schema.homes.c
    seen: dict[str, int] = {}
    async with _read(store) as conn:
        readings = await conn.execute(
            select(keys.home_id, func.max(keys.last_reading_ts))
            .join(schema.homes, homes.home_id == keys.home_id)
            .where(keys.last_reading_ts >= since_ms, homes.revoked_at.is_(None))
            .group_by(keys.home_id)
        )
        # A bid received at t is for an interval starting after t: the indexed interval_start
        # bound keeps this a range scan.
        bid_rows = await conn.execute(
            select(bids.home_id, func.max(bids.received_at))
            .join(schema.homes, homes.home_id == bids.home_id)
            .where(
                bids.interval_start >= since_ms // 1000,
                bids.received_at >= since_ms,
                homes.revoked_at.is_(None),
            )
            .group_by(bids.home_id)
        )
        for home_id, ts in [*readings.all(), *bid_rows.all()]:
            seen[home_id] = max(seen.get(home_id, 0), int(ts))
    return seen


# -- market totals --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    """Local trading over a span of intervals. Buyers save (retail - price - fee) per kWh against
    buying from the grid; sellers earn (price - fee - feed-in) per kWh above selling to it."""

    intervals: int
    trading_intervals: int
    volume_wh: int
    buyers_saved_mminor: int
    sellers_earned_mminor: int
    fees_mminor: int

    @property
    def savings_mminor(self) -> int:
        return self.buyers_saved_mminor + self.sellers_earned_mminor

    def to_wire(self) -> dict[str, int]:
        return {**asdict(self), "savings_mminor": self.savings_mminor}


async def totals(store: Store, start_from: int, start_to: int) -> Totals:
    """Totals over intervals starting within [start_from, start_to] (UTC seconds)."""
    traded = _iv.price.is_not(None)
    query = select(
        func.count(),
        func.sum(case((traded, 1), else_=0)),
        func.sum(_iv.volume_wh),
        func.sum(case((traded, (_iv.retail_price - _iv.price - _iv.fee_per_kwh) * _iv.volume_wh))),
        func.sum(case((traded, (_iv.price - _iv.fee_per_kwh - _iv.feed_in_price) * _iv.volume_wh))),
        func.sum(_iv.fees_mminor),
    ).where(_iv.interval_start >= start_from, _iv.interval_start <= start_to)
    async with _read(store) as conn:
        row = (await conn.execute(query)).one()
    return Totals(*(_int(value) for value in row))


# -- history --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    start: int  # bucket start, UTC seconds
    intervals: int
    trading_intervals: int
    price: float | None  # volume-weighted mean of the local prices; exact for one interval
    price_min: int | None
    price_max: int | None
    volume_wh: int
    retail_price: float
    feed_in_price: float

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


async def count_intervals(store: Store, start_from: int, start_to: int) -> int:
    async with _read(store) as conn:
        query = (
            select(func.count())
            .select_from(schema.intervals)
            .where(_iv.interval_start >= start_from, _iv.interval_start <= start_to)
        )
        return _int((await conn.execute(query)).scalar())


async def history(
    store: Store, start_from: int, start_to: int, bucket_seconds: int
) -> list[HistoryPoint]:
    """Cleared intervals in [start_from, start_to], grouped into buckets of `bucket_seconds`."""
    # A literal (validated int), not a bind parameter: PostgreSQL must see the same expression in
    # SELECT and GROUP BY.
    size: ColumnElement[int] = literal_column(str(int(bucket_seconds)), Integer)
    bucket = (_iv.interval_start - _iv.interval_start % size).label("bucket")
    traded = _iv.price.is_not(None)
    query = (
        select(
            bucket,
            func.count(),
            func.sum(case((traded, 1), else_=0)),
            func.sum(case((traded, _iv.price * _iv.volume_wh))),
            func.min(_iv.price),
            func.max(_iv.price),
            func.sum(_iv.volume_wh),
            func.sum(_iv.retail_price),
            func.sum(_iv.feed_in_price),
        )
        .where(and_(_iv.interval_start >= start_from, _iv.interval_start <= start_to))
        .group_by(bucket)
        .order_by(bucket)
    )
    async with _read(store) as conn:
        rows = (await conn.execute(query)).all()
    points = []
    for start, count, trading, price_x_volume, low, high, volume, retail, feed_in in rows:
        n, volume = _int(count), _int(volume)
        price: float | None = None  # no local trade in the whole bucket
        if low is not None:
            same = low == high or not volume
            price = float(low) if same else round(_int(price_x_volume) / volume, 2)
        points.append(
            HistoryPoint(
                start=int(start),
                intervals=n,
                trading_intervals=_int(trading),
                price=price,
                price_min=None if low is None else int(low),
                price_max=None if high is None else int(high),
                volume_wh=volume,
                retail_price=round(_int(retail) / n, 2),
                feed_in_price=round(_int(feed_in) / n, 2),
            )
        )
    return points


# -- order book -----------------------------------------------------------------------------------


async def cleared_bid_bodies(store: Store, interval_start: int) -> list[dict[str, Any]]:
    """The bid bodies an interval was cleared with: the bids whose digest its allocations record
    (so a home revoked since still counts, as it did in the clearing)."""
    bids, allocs = schema.bids.c, schema.allocations.c
    query = (
        select(bids.body)
        .join(
            schema.allocations,
            and_(
                allocs.interval_start == bids.interval_start,
                allocs.home_id == bids.home_id,
                allocs.bid_digest == bids.digest,
            ),
        )
        .where(bids.interval_start == interval_start)
        .order_by(bids.home_id)
    )
    async with _read(store) as conn:
        rows = (await conn.execute(query)).all()
    return [json.loads(row.body) for row in rows]
