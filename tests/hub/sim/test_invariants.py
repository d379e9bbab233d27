"""A 20-home, 2-day simulation keeps the books: energy balances in every interval for every home
and at the transformer, money is conserved in the market and in settlement, no token is minted
twice, the ledger audits clean, and the same seed gives the same run."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import defaultdict

import numpy as np
from gridcoop_home.ledger.tables import expand

from hub.ledger.service.commands import verify_rows
from hub.sim import SimResult
from hub.sim.metrics import compute
from hub.store import Store
from hub.store.ledger_store import LedgerStore, all_holdings


def entries(result: SimResult, kind: str) -> list[dict[str, object]]:
    """The chain's entries of a format-1 kind, with settlement tables expanded into them."""
    assert result.db_path is not None
    with sqlite3.connect(result.db_path) as db:
        rows = db.execute(
            "SELECT data FROM ledger_entries WHERE kind IN (?, 'settled_interval')", (kind,)
        ).fetchall()
    found = [part for (data,) in rows for part in expand(json.loads(data))]
    return [entry for entry in found if entry["kind"] == kind]


def allocations(result: SimResult) -> list[sqlite3.Row]:
    assert result.db_path is not None
    with sqlite3.connect(result.db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM allocations ORDER BY interval_start, home_id").fetchall()


def test_every_home_balances_its_energy_in_every_interval_in_every_world(
    small_run: SimResult,
) -> None:
    for world in ("A", "B", "C"):
        grid = small_run.world(world, "import_wh") - small_run.world(world, "export_wh")
        uses = (
            small_run.world(world, "base_wh")
            + small_run.world(world, "loads_wh")
            + small_run.world(world, "ev_wh")
            + small_run.world(world, "charge_wh")
            - small_run.world(world, "pv_wh")
            - small_run.world(world, "discharge_wh")
        )
        assert np.array_equal(grid, uses), world
        both = (small_run.world(world, "import_wh") > 0) & (small_run.world(world, "export_wh") > 0)
        assert not both.any(), "a meter never imports and exports in the same interval"


def test_the_metered_flows_the_ledger_settled_add_up_to_the_transformer_flow(
    small_run: SimResult,
) -> None:
    taken: dict[int, int] = defaultdict(int)
    for entry in entries(small_run, "settlement"):
        assert entry["metered"], "every home had readings at both ends of every interval"
        taken[int(entry["interval_start"])] += int(entry["taken_wh"]) - int(entry["delivered_wh"])  # type: ignore[call-overload]
    transformer = (small_run.world("C", "import_wh") - small_run.world("C", "export_wh")).sum(0)
    starts = [row.start for row in small_run.intervals]
    assert [taken[start] for start in starts] == transformer.tolist()


def test_every_interval_was_cleared_and_settled(small_run: SimResult) -> None:
    assert len(small_run.intervals) == small_run.calendar.slots
    assert small_run.ledger.settled_intervals == small_run.calendar.slots
    assert all(row.participants == len(small_run.homes) for row in small_run.intervals)


def test_energy_bought_locally_equals_energy_sold_locally_in_every_interval(
    small_run: SimResult,
) -> None:
    bought: dict[int, int] = defaultdict(int)
    sold: dict[int, int] = defaultdict(int)
    for row in allocations(small_run):
        bought[row["interval_start"]] += row["bought_local_wh"]
        sold[row["interval_start"]] += row["sold_local_wh"]
    for interval in small_run.intervals:
        assert bought[interval.start] == sold[interval.start] == interval.volume_wh
    assert sum(r.volume_wh for r in small_run.intervals) > 0, "the neighbourhood did trade"


def test_the_market_budget_balances_to_the_milli_cent(small_run: SimResult) -> None:
    for row in small_run.intervals:
        grid = row.retail * row.grid_import_wh - row.feed_in * row.grid_export_wh
        assert row.paid_mminor - row.received_mminor == row.fees_mminor + grid
    assert compute(small_run).market_balance_mminor == 0


def test_settled_balances_are_market_money_plus_metered_imbalance(small_run: SimResult) -> None:
    slot_of = {row.start: slot for slot, row in enumerate(small_run.intervals)}
    index_of = {home.home_id: home.index for home in small_run.homes}
    imported = small_run.world("C", "import_wh")
    exported = small_run.world("C", "export_wh")
    expected: dict[str, int] = defaultdict(int)
    for a in allocations(small_run):
        slot, home = slot_of[a["interval_start"]], index_of[a["home_id"]]
        row = small_run.intervals[slot]
        allocated = (
            a["bought_local_wh"] + a["bought_grid_wh"] - a["sold_local_wh"] - a["sold_grid_wh"]
        )
        imbalance = int(imported[home, slot] - exported[home, slot]) - allocated
        price = row.retail if imbalance > 0 else row.feed_in
        expected[a["home_id"]] += a["received_mminor"] - a["paid_mminor"] - imbalance * price
    assert dict(expected) == small_run.ledger.balances_mminor


def test_no_token_is_minted_twice_and_every_minted_token_is_burned_by_a_buyer(
    small_run: SimResult,
) -> None:
    mints = entries(small_run, "mint")
    lots = [(m["meter_key_id"], m["interval_start"]) for m in mints]
    assert len(lots) == len(set(lots)) > 0
    assert sum(int(m["tokens"]) for m in mints) == small_run.ledger.minted  # type: ignore[call-overload]
    assert small_run.ledger.burned == small_run.ledger.minted


def test_green_certificates_are_retired_for_ev_sessions_through_the_ledger(
    small_run: SimResult,
) -> None:
    retirements = entries(small_run, "retire")
    assert len(retirements) == small_run.ledger.retirements > 0
    assert sum(int(r["units"]) for r in retirements) == small_run.ledger.retired  # type: ignore[call-overload]
    assert all(str(r["purpose"]).startswith("EV charging") for r in retirements)


def test_the_ledger_the_hub_wrote_passes_the_full_audit(small_run: SimResult) -> None:
    assert small_run.db_path is not None

    async def audit() -> int:
        store = await Store.open(f"sqlite:///{small_run.db_path}")
        try:
            ledger = LedgerStore(store)
            return await verify_rows(
                ledger.iter_chain(), lambda: all_holdings(ledger), "auto", True
            )
        finally:
            await store.close()

    assert asyncio.run(audit()) == 0


def test_every_signed_reading_was_accepted(small_run: SimResult) -> None:
    assert small_run.readings["rejected"] == 0
    assert small_run.readings["bad_signatures"] == 0
    meters = sum(len(home.meter_kinds) for home in small_run.homes)
    assert small_run.readings["accepted"] == meters * (small_run.calendar.slots + 1)


def test_the_same_seed_gives_the_same_run(small_run: SimResult, small_rerun: SimResult) -> None:
    for world in ("A", "B", "C"):
        assert np.array_equal(small_run.tracks[world], small_rerun.tracks[world]), world
    assert small_run.intervals == small_rerun.intervals
    assert small_run.ledger.balances_mminor == small_rerun.ledger.balances_mminor
    assert small_run.ledger.minted == small_rerun.ledger.minted
    assert small_run.ledger.retired == small_rerun.ledger.retired
