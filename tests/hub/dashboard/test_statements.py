"""The operator's money side: the community's monthly summary over real clearings (admin API,
CSV download, `gridcoop-hub statements`), balanced to the milli-cent; bad months and homes
refused clearly."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.cli import main
from hub.config import HubConfig
from hub.market.tariff import Tariff
from hub.store.records import IntervalRecord
from tests.hub.dashboard.conftest import MakeHub
from tests.hub.dashboard.support import DashHub, Home, curves
from tests.hub.dashboard.test_public import EXAMPLE, trade_worked_example

MONEY = ("paid_mminor", "received_mminor", "fees_mminor", "paid_grid_mminor")


def month_of(interval: int) -> str:
    return datetime.fromtimestamp(interval, UTC).strftime("%Y-%m")


async def trade_random_intervals(
    hub: DashHub, homes: list[Home], intervals: int, seed: int
) -> list[IntervalRecord]:
    """Every home bids odd energies at random prices around the tariff, interval after interval:
    local trades, rationed margins and grid flows, with amounts that are not whole cents."""
    rng = random.Random(seed)
    records = []
    interval = hub.next_interval()
    for _ in range(intervals):
        for home in homes:
            energy = rng.randint(1, 2999)
            if rng.random() < 0.6:  # one side each: a home does not buy above its own ask
                bid = curves(buy=[(rng.randint(9, 35), energy)])
            else:
                bid = curves(sell=[(rng.randint(5, 28), energy)])
            await home.client.submit_bid(interval, bid)
        records.append(await hub.clear(interval))
        interval += hub.config.interval_seconds
    return records


async def test_the_worked_example_month_pays_each_home_what_the_market_says(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(EXAMPLE)
    interval, homes = await trade_worked_example(hub)
    reply = await hub.admin("GET", f"/api/v1/admin/statements/{month_of(interval)}")
    assert reply.status == 200
    summary = reply.body
    by_id = {row["home_id"]: row for row in summary["homes"]}
    buyer, cheap, dear = (
        by_id[homes["a"].home_id],
        by_id[homes["c"].home_id],
        by_id[homes["d"].home_id],
    )
    # 2500 Wh at 23, fee 1 each side: a buys 2000 at 24, c and d sell at 22.
    assert (buyer["bought_local_wh"], buyer["paid_local_mminor"]) == (2000, 48_000)
    assert (cheap["sold_local_wh"], cheap["received_local_mminor"]) == (1500, 33_000)
    assert (dear["sold_local_wh"], dear["received_local_mminor"]) == (1000, 22_000)
    community = summary["community"]
    assert community["bought_local_wh"] == community["sold_local_wh"] == 2500
    assert community["fees_mminor"] == 2 * 1 * 2500
    assert community["paid_local_mminor"] == community["received_local_mminor"] + 5000
    assert summary["balanced"] is True and summary["currency"] == "EUR"


async def test_a_month_of_random_trading_balances_to_the_milli_cent(make_hub: MakeHub) -> None:
    hub = await make_hub(HubConfig(fee_per_kwh=1, k_percent=37, tariff=Tariff.flat(30, 8)))
    homes = [await hub.enrol() for _ in range(7)]
    records = await trade_random_intervals(hub, homes, intervals=6, seed=22)
    assert sum(r.volume_wh for r in records) > 0 and sum(r.grid_import_wh for r in records) > 0
    months = {month_of(r.interval_start) for r in records}
    rows: list[dict[str, int]] = []
    communities = []
    for month in sorted(months):
        reply = await hub.admin("GET", f"/api/v1/admin/statements/{month}")
        assert reply.status == 200 and reply.body["balanced"] is True
        rows += reply.body["homes"]
        communities.append(reply.body["community"])
    # The homes add up to the community, column by column, across the months.
    for column in ("bought_local_wh", "sold_local_wh", "grid_import_wh", *MONEY, "net_mminor"):
        assert sum(row[column] for row in rows) == sum(c[column] for c in communities), column
    # ...and the community to what the market recorded for each interval, independently.
    assert sum(c["bought_local_wh"] for c in communities) == sum(r.volume_wh for r in records)
    assert sum(c["sold_local_wh"] for c in communities) == sum(r.volume_wh for r in records)
    assert sum(c["grid_import_wh"] for c in communities) == sum(r.grid_import_wh for r in records)
    assert sum(c["grid_export_wh"] for c in communities) == sum(r.grid_export_wh for r in records)
    assert sum(c["fees_mminor"] for c in communities) == sum(r.fees_mminor for r in records)
    assert sum(c["intervals"] for c in communities) == len(records)
    # Local money: what buyers paid is what sellers received plus the fees, exactly.
    for community in communities:
        assert community["paid_local_mminor"] == (
            community["received_local_mminor"] + community["fees_mminor"]
        )
        assert community["congestion_rent_mminor"] == 0
    # Not whole cents: the balance is exact, not a rounding that happened to work.
    assert any(row["paid_mminor"] % 1000 for row in rows)


async def test_the_csv_download_has_a_row_per_home_and_the_community(make_hub: MakeHub) -> None:
    hub = await make_hub(EXAMPLE)
    interval, homes = await trade_worked_example(hub)
    month = month_of(interval)
    reply = await hub.admin("GET", f"/api/v1/admin/statements/{month}?format=csv")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert f'filename="gridcoop-summary-{month}.csv"' in reply.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(reply.body)))
    assert [row["home_id"] for row in table[:-1]] == sorted(h.home_id for h in homes.values())
    community = table[-1]
    assert community["home_id"] == "community"
    assert community["fees_minor"] == "5.000" and community["bought_local_wh"] == "2500"
    paid = sum(int(row["paid_minor"].replace(".", "")) for row in table[:-1])
    assert paid == int(community["paid_minor"].replace(".", ""))


async def test_the_cli_prints_the_same_summary_from_the_database(
    make_hub: MakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = await make_hub(EXAMPLE)
    interval, _homes = await trade_worked_example(hub)
    month = month_of(interval)
    db = str(hub.store._engine.url).replace("+aiosqlite", "")
    api = (await hub.admin("GET", f"/api/v1/admin/statements/{month}")).body

    assert await asyncio.to_thread(main, ["statements", month, "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == api
    assert await asyncio.to_thread(main, ["statements", month, "--db", db]) == 0
    table = capsys.readouterr().out
    assert f"Community summary {month} (UTC), 1 intervals" in table
    assert "local market: paid 60.000 = received 55.000 + fees 5.000" in table
    assert "balanced: yes" in table
    assert await asyncio.to_thread(main, ["statements", month, "--db", db, "--csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text == (await hub.admin("GET", f"/api/v1/admin/statements/{month}?format=csv")).body


async def test_an_empty_month_is_all_zeros_and_balanced(hub: DashHub) -> None:
    reply = await hub.admin("GET", "/api/v1/admin/statements/1999-02")
    assert reply.status == 200
    assert reply.body["homes"] == [] and reply.body["balanced"] is True
    assert reply.body["community"]["paid_mminor"] == 0


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "26-01", "2026-1", "0000-01", "x"])
async def test_a_month_that_is_not_yyyy_mm_is_refused_by_the_api(hub: DashHub, month: str) -> None:
    reply = await hub.admin("GET", f"/api/v1/admin/statements/{month}")
    assert reply.status == 400
    assert reply.body["error"] == "malformed" and "month" in reply.body["detail"]


async def test_the_routes_want_the_admin_token(hub: DashHub) -> None:
    for path in ("/api/v1/admin/statements/2026-11", "/api/v1/admin/statements/2026-11/homes/ab"):
        reply = await hub.request("GET", path, headers={"Authorization": "Bearer wrong"})
        assert reply.status == 401 and reply.body["error"] == "unauthenticated"


async def test_an_unknown_home_is_404(hub: DashHub) -> None:
    reply = await hub.admin("GET", "/api/v1/admin/statements/2026-11/homes/0123456789abcdef")
    assert reply.status == 404 and reply.body["error"] == "not_found"
    assert "0123456789abcdef" in reply.body["detail"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["2026-13"], "month must be YYYY-MM (1970-01 to 2999-12), not '2026-13'"),
        (["2026-11", "--home", "0123456789abcdef"], "no home '0123456789abcdef'"),
    ],
)
async def test_the_cli_names_what_is_wrong(
    hub: DashHub, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    db = str(hub.store._engine.url).replace("+aiosqlite", "")
    assert await asyncio.to_thread(main, ["statements", *arguments, "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gridcoop-hub: ") and message in err and "Traceback" not in err


def test_the_cli_does_not_create_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.db"
    assert main(["statements", "2026-11", "--db", f"sqlite:///{missing}"]) == 2
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.exists()


async def test_a_home_name_never_becomes_a_spreadsheet_formula(make_hub: MakeHub) -> None:
    hub = await make_hub(EXAMPLE)
    seller, buyer = await hub.enrol('=HYPERLINK("http://x")'), await hub.enrol("@SUM(A1)")
    interval = hub.next_interval()
    await seller.client.submit_bid(interval, curves(sell=[(10, 1000)]))
    await buyer.client.submit_bid(interval, curves(buy=[(25, 1000)]))
    await hub.clear(interval)
    reply = await hub.admin("GET", f"/api/v1/admin/statements/{month_of(interval)}?format=csv")
    names = {row["name"] for row in csv.DictReader(io.StringIO(reply.body))}
    assert names == {'\'=HYPERLINK("http://x")', "'@SUM(A1)", ""}
