"""Clearing results: each interval's outcome with every home's allocation, stored exactly once.

`allocation_row` and `allocation_of` are the one mapping between an Allocation and its row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gridcoop_home.protocol.allocation import WIRE_FIELDS, Allocation
from gridcoop_home.protocol.dispatch import DispatchCommand
from gridcoop_home.protocol.grid_limit import GridLimit
from sqlalchemy import Row, and_, insert, select
from sqlalchemy.exc import IntegrityError

from hub.store import schema
from hub.store.engine import Database
from hub.store.market import put_bid
from hub.store.records import IntervalRecord, StoredBid

# An interval's columns but the (possibly large) per-bus network details.
_INTERVAL_COLUMNS = [c for c in schema.intervals.c if c.name != "network"]


class ClearingRepository(Database):
    async def save_clearing(
        self,
        interval: IntervalRecord,
        allocations: Sequence[Allocation],
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
                    await conn.run_sync(put_bid, bid)
                if allocations:
                    await conn.execute(
                        insert(schema.allocations), [allocation_row(a) for a in allocations]
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
    ) -> list[Allocation]:
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
            return [allocation_of(row) for row in rows]

    async def allocations_for_interval(self, interval_start: int) -> list[Allocation]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.allocations)
                .where(schema.allocations.c.interval_start == interval_start)
                .order_by(schema.allocations.c.home_id)
            )
            return [allocation_of(row) for row in rows]


def _interval(row: Row[Any]) -> IntervalRecord:
    values = row._asdict()
    values["binding"] = json.loads(values["binding"])
    return IntervalRecord(**values)


def allocation_row(allocation: Allocation) -> dict[str, Any]:
    """An allocation as its `allocations` row: the wire form, its dispatch as JSON text."""
    row = allocation.to_wire()
    row["dispatch"] = json.dumps(row["dispatch"], sort_keys=True)
    limit = row.get("grid_limit")
    row["grid_limit"] = None if limit is None else json.dumps(limit, sort_keys=True)
    return row


def allocation_of(row: Row[Any]) -> Allocation:
    """The allocation an `allocations` row holds (rows with more columns: the extra ignored)."""
    values = {name: getattr(row, name) for name in WIRE_FIELDS}
    values["dispatch"] = tuple(DispatchCommand.from_wire(d) for d in json.loads(row.dispatch))
    limit = values["grid_limit"]
    values["grid_limit"] = None if limit is None else GridLimit.from_wire(json.loads(limit))
    return Allocation(**values)
