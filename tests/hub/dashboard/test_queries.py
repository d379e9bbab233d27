"""The dashboard's own SQL (grouping, sums, last activity) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from hub.config import HubConfig
from hub.market.tariff import Tariff
from hub.service import dashboard_queries as queries
from hub.service import monthly
from hub.store import Store, schema
from hub.store.records import IntervalRecord
from tests.hub.databases import BACKENDS, throwaway_postgres

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("dashboard") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Sync, so the module's PostgreSQL fixture can use asyncio.run outside the test's loop."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'q.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(db_url)
    async with opened._engine.begin() as conn:  # a clean slate (PostgreSQL is shared)
        for table in reversed(schema.metadata.sorted_tables):
            if table is not schema.schema_version:
                await conn.execute(table.delete())
    yield opened
    await opened.close()


def interval(start: int, price: int | None, volume: int, retail: int = 30) -> IntervalRecord:
    return IntervalRecord(
        interval_start=start,
        interval_end=start + 900,
        cleared_at=start * 1000 - 60_000,
        late=False,
        price=price,
        price_low=price,
        price_high=price,
        volume_wh=volume,
        retail_price=retail,
        feed_in_price=8,
        fee_per_kwh=1,
        k_percent=50,
        welfare_mminor=0,
        fees_mminor=2 * volume,
        grid_import_wh=0,
        grid_export_wh=0,
        participants=2 if price is not None else 0,
    )


async def test_history_groups_and_weights_by_volume(store: Store) -> None:
    for record in [
        interval(T0, 10, 1000),
        interval(T0 + 900, 20, 3000, retail=40),
        interval(T0 + 1800, None, 0),
        interval(T0 + 3600, 15, 500),
    ]:
        assert await store.save_clearing(record, [])
    assert await queries.count_intervals(store, T0, T0 + 3600) == 4

    single = await queries.history(store, T0, T0 + 3600, 900)
    assert [(p.start, p.price, p.volume_wh) for p in single] == [
        (T0, 10, 1000),
        (T0 + 900, 20, 3000),
        (T0 + 1800, None, 0),
        (T0 + 3600, 15, 500),
    ]
    grouped = await queries.history(store, T0, T0 + 3600, 1800)
    first, second, third = grouped
    assert (first.start, first.intervals, first.trading_intervals) == (T0, 2, 2)
    assert first.price == 17.5  # (10 x 1000 + 20 x 3000) / 4000
    assert (first.price_min, first.price_max, first.volume_wh) == (10, 20, 4000)
    assert first.retail_price == 35.0
    assert (second.start, second.price, second.intervals) == (T0 + 1800, None, 1)
    assert (third.start, third.price) == (T0 + 3600, 15.0)


async def test_totals_add_up_savings(store: Store) -> None:
    for record in [
        interval(T0, 10, 1000),
        interval(T0 + 900, None, 0),
        interval(T0 + 1800, 20, 500),
    ]:
        assert await store.save_clearing(record, [])
    totals = await queries.totals(store, T0, T0 + 1800)
    assert (totals.intervals, totals.trading_intervals, totals.volume_wh) == (3, 2, 1500)
    # buyers: (30 - p - 1) x Wh; sellers: (p - 1 - 8) x Wh
    assert totals.buyers_saved_mminor == 19 * 1000 + 9 * 500
    assert totals.sellers_earned_mminor == 1 * 1000 + 11 * 500
    assert totals.savings_mminor == 20 * 1500
    assert totals.fees_mminor == 3000
    assert (await queries.totals(store, T0 + 900, T0 + 900)).volume_wh == 0


async def test_last_seen_uses_readings_and_bids_of_active_homes(store: Store) -> None:
    now_ms = T0 * 1000
    async with store._engine.begin() as conn:
        await conn.execute(
            insert(schema.homes),
            [
                {"home_id": h, "name": h, "bus": None, "created_at": 0, "revoked_at": revoked}
                for h, revoked in [("reader", None), ("bidder", None), ("gone", 1), ("idle", None)]
            ],
        )
        await conn.execute(
            insert(schema.keys),
            [
                {
                    "key_id": f"k-{home}",
                    "home_id": home,
                    "kind": "grid",
                    "name": "grid",
                    "public_key": f"pk-{home}",
                    "created_at": 0,
                    "last_reading_ts": ts,
                }
                for home, ts in [
                    ("reader", now_ms - 1000),
                    ("bidder", None),
                    ("gone", now_ms),
                    ("idle", now_ms - 3_600_000),
                ]
            ],
        )
        await conn.execute(
            insert(schema.bids),
            [
                {
                    "home_id": "bidder",
                    "interval_start": T0 + 900,
                    "key_id": "k-bidder",
                    "seq": 1,
                    "ts": now_ms - 500,
                    "body": "{}",
                    "digest": "d1",
                    "sig": "s",
                    "received_at": now_ms - 500,
                }
            ],
        )
    seen = await queries.last_seen(store, now_ms - 600_000)
    assert seen == {"reader": now_ms - 1000, "bidder": now_ms - 500}
    assert await queries.count_homes(store) == 3


def allocation(
    start: int, home: str, local: tuple[int, int], grid: tuple[int, int]
) -> dict[str, Any]:
    """An allocations row at price 20, fee 1, retail 30, feed-in 8: (bought, sold) Wh."""
    (bought, sold), (imported, exported) = local, grid
    return {
        "interval_start": start,
        "home_id": home,
        "bought_local_wh": bought,
        "sold_local_wh": sold,
        "bought_grid_wh": imported,
        "sold_grid_wh": exported,
        "paid_mminor": 21 * bought + 30 * imported,
        "received_mminor": 19 * sold + 8 * exported,
        "fees_mminor": bought + sold,
        "bid_digest": "0" * 64,
        "dispatch": "[]",
    }


async def test_the_monthly_summary_sums_the_months_allocations(store: Store) -> None:
    config = HubConfig(tariff=Tariff.flat(30, 8))
    big = 10**9  # sums past 2^31 Wh x price: PostgreSQL's NUMERIC comes back as int
    rows = {
        T0 - 900: [allocation(T0 - 900, "a", (0, 500), (0, 0))],  # December 2025
        T0: [allocation(T0, "a", (0, 1000), (0, 0)), allocation(T0, "b", (1000, 0), (200, 0))],
        T0 + 900: [
            allocation(T0 + 900, "a", (big, 0), (0, 0)),
            allocation(T0 + 900, "b", (0, big), (0, 7)),
        ],
        T0 + 31 * 86400: [allocation(T0 + 31 * 86400, "b", (0, 0), (9, 0))],  # February
    }
    for start, allocations in rows.items():
        volume = sum(row["bought_local_wh"] for row in allocations)
        imported = sum(row["bought_grid_wh"] for row in allocations)
        exported = sum(row["sold_grid_wh"] for row in allocations)
        record = replace(
            interval(start, 20, volume), grid_import_wh=imported, grid_export_wh=exported
        )
        assert await store.save_clearing(record, [])
        async with store._engine.begin() as conn:
            await conn.execute(insert(schema.allocations), allocations)

    january = await monthly.summary(store, config, "2026-01")
    assert january.problems() == []
    by_home = {home.home_id: home.totals for home in january.homes}
    assert by_home["a"].sold_local_wh == 1000 and by_home["a"].bought_local_wh == big
    assert by_home["b"].paid_mminor == 21 * 1000 + 30 * 200
    assert by_home["b"].paid_grid_mminor == 30 * 200
    assert by_home["b"].received_grid_mminor == 8 * 7
    assert january.totals.paid_mminor == 21 * (1000 + big) + 30 * 200
    assert january.totals.fees_mminor == january.community.fees_mminor == 2 * (1000 + big)
    assert (january.community.intervals, january.totals.intervals) == (2, 2)
    assert by_home["a"].intervals == 2
    assert (await monthly.summary(store, config, "2025-12")).totals.sold_local_wh == 500
    assert (await monthly.summary(store, config, "2026-02")).totals.grid_import_wh == 9
