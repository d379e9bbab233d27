"""The simulated hub goes through the hub's own paths: bids through the bid route's checks and
Store.save_bid, a block sealed per interval at its gate closure, and meter readings uploaded by
each home every few hours at its own time."""

from __future__ import annotations

import sqlite3
from collections import defaultdict

from hub.sim import SimResult
from hub.sim.engine import upload_phase


def query(result: SimResult, sql: str) -> list[tuple[int | str, ...]]:
    assert result.db_path is not None
    with sqlite3.connect(result.db_path) as db:
        return db.execute(sql).fetchall()


def test_every_bid_went_through_the_store_and_moved_its_key_sequence(small_run: SimResult) -> None:
    slots = small_run.calendar.slots
    assert small_run.bids == {"stored": len(small_run.homes) * slots}
    last_start = small_run.calendar.start_of(slots - 1)
    sequences = query(small_run, "SELECT last_message_seq FROM keys WHERE kind = 'home'")
    assert sequences == [(last_start,)] * len(small_run.homes), "Store.save_bid advanced them"
    stored = query(small_run, "SELECT COUNT(*), COUNT(DISTINCT interval_start) FROM bids")
    assert stored == [(len(small_run.homes) * slots, slots)]


def test_each_interval_block_is_sealed_at_the_interval_gate_closure(small_run: SimResult) -> None:
    blocks = query(
        small_run,
        "SELECT interval_start, time_ms FROM ledger_blocks WHERE interval_start IS NOT NULL",
    )
    starts = [row.start for row in small_run.intervals]
    assert sorted(int(start) for start, _time in blocks) == starts
    gate = small_run.config.hub.gate_closure_of
    assert all(time_ms == 1000 * gate(int(start)) for start, time_ms in blocks)


def test_homes_upload_their_readings_every_few_hours_each_at_its_own_time(
    small_run: SimResult,
) -> None:
    calendar, config = small_run.calendar, small_run.config
    first, last = calendar.start_of(0) - 30, calendar.start_of(calendar.slots) + 1
    slots_of: dict[str, set[int]] = defaultdict(set)
    for home_id, received_ms in query(small_run, "SELECT home_id, received_at FROM readings"):
        received = int(received_ms) // 1000
        if received not in (first, last):  # everyone's opening and closing registers
            slots_of[str(home_id)].add((received - 1 - calendar.start_of(0)) // 900)
    for home in small_run.homes:
        phase = upload_phase(home.index, config)
        due = range(phase or config.reading_batch_slots, calendar.slots, config.reading_batch_slots)
        assert slots_of[home.home_id] == set(due), "at its phase, and nothing left waiting"
    assert len({upload_phase(h.index, config) for h in small_run.homes}) > 1, "spread out"
