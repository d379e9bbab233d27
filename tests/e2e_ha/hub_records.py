"""What the hub recorded for one home, read from its database through the hub's own Store (the
same code the hub serves from): the home's bids, when they arrived, its allocations and each
interval's cleared price. The end-to-end tests compare a Home Assistant home's devices with this.

    market = read_home_market(hub.db_url, "Loop home", since=t0, until=t1)
    market.intervals[start].allocation.dispatch   # the hub's commands for that interval
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.bids import BidCurves

from hub.service.clearing import curves_of
from hub.store.records import IntervalRecord
from hub.store.store import Store

MAX_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class HomeInterval:
    interval: IntervalRecord
    bid: BidCurves | None
    bid_received_ms: int | None
    allocation: Allocation | None


@dataclass(frozen=True, slots=True)
class HomeMarket:
    home_id: str
    intervals: dict[int, HomeInterval] = field(default_factory=dict)  # by interval start

    @property
    def bids_received_ms(self) -> list[int]:
        return sorted(i.bid_received_ms for i in self.intervals.values() if i.bid_received_ms)

    def traded(self) -> list[HomeInterval]:
        """The cleared intervals in which this home bid and got an allocation, oldest first."""
        return [
            i
            for _, i in sorted(self.intervals.items())
            if i.bid is not None and i.allocation is not None
        ]


def read_home_market(db_url: str, home_name: str, since: int, until: int) -> HomeMarket:
    """The cleared intervals starting in [since, until] (UTC seconds) and what `home_name` bid
    and was allocated in each."""
    return asyncio.run(_read(db_url, home_name, since, until))


async def _read(db_url: str, home_name: str, since: int, until: int) -> HomeMarket:
    store = await Store.open(db_url)
    try:
        homes = [h for h in await store.list_homes() if h.name == home_name and not h.revoked]
        assert len(homes) == 1, f"one enrolled home named {home_name!r}: {homes}"
        home_id = homes[0].home_id
        allocations = {
            a.interval_start: a
            for a in await store.allocations_for_home(home_id, since, until, MAX_ROWS)
        }
        market = HomeMarket(home_id)
        for interval in await store.list_intervals(since, until, MAX_ROWS):
            start = interval.interval_start
            bid = await store.get_bid(home_id, start)
            market.intervals[start] = HomeInterval(
                interval,
                None if bid is None else curves_of(bid),
                None if bid is None else bid.received_at,
                allocations.get(start),
            )
        return market
    finally:
        await store.close()
