"""Two `python -m hub serve` workers on one PostgreSQL database serve the API together: either
takes enrolments and bids, exactly one (the leader) clears each interval and seals each block,
a WebSocket subscriber on the other worker hears every clearing, and when the leader is killed
(SIGKILL) the other takes over and the market goes on."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from gridcoop_home.client.hub import HubClient, HubError, Meter
from gridcoop_home.protocol.keys import SigningKey

from tests.hub.scale.support import (
    Processes,
    Worker,
    is_leader,
    run_hub,
    wait_until,
    write_config,
)
from tests.hub.server.support import curves

CODE = re.compile(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})")


async def enrol(session: aiohttp.ClientSession, worker: Worker, db: str, name: str) -> HubClient:
    invite = run_hub("invite", name, "--db", db)
    code = CODE.search(invite.stdout)
    assert code is not None, invite.stdout + invite.stderr
    client = HubClient(session, worker.url)
    await client.enrol(
        code.group(1), SigningKey.generate(), [Meter("grid", "grid", SigningKey.generate())]
    )
    return client


def on(client: HubClient, session: aiohttp.ClientSession, worker: Worker) -> HubClient:
    """The same home talking to another worker."""
    return HubClient(session, worker.url, home_key=client._home_key)


async def bid_pair(seller: HubClient, buyer: HubClient) -> int:
    """A crossing pair of bids for the next open interval (a trade of 500 Wh at 10-25)."""
    interval = (await seller.info())["next_open_interval_start"]
    await seller.submit_bid(interval, curves(sell=[(10, 500, "battery")]))
    await buyer.submit_bid(interval, curves(buy=[(25, 500, "base")]))
    return int(interval)


async def clearings_in_chain(db: str) -> list[int]:
    conn = await asyncpg.connect(db)
    try:
        rows = await conn.fetch(
            "SELECT interval_start FROM ledger_entries WHERE kind = 'clearing' ORDER BY entry_id"
        )
    finally:
        await conn.close()
    return [row["interval_start"] for row in rows]


async def test_two_workers_share_the_market_and_survive_the_leader_being_killed(
    pg_url: str, tmp_path: Path, processes: Processes
) -> None:
    config = write_config(tmp_path / "hub.toml")
    first = processes.worker(pg_url, config, tmp_path / "a.log")
    second = processes.worker(pg_url, config, tmp_path / "b.log")
    first.start()
    second.start()  # together, on an empty database: they migrate one after the other
    async with aiohttp.ClientSession() as session:
        await wait_until(lambda: HubClient(session, first.url).health(), 30)
        await wait_until(lambda: HubClient(session, second.url).health(), 30)
        leader = await wait_until(lambda: _one_leader(session, first, second), 10)
        follower = second if leader is first else first

        # Homes enrol and bid through either worker.
        seller = await enrol(session, leader, pg_url, "Seller")
        buyer = await enrol(session, follower, pg_url, "Buyer")
        async with on(buyer, session, follower).stream() as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "hello"
            interval = await bid_pair(on(seller, session, follower), buyer)
            news = await _until(
                ws,
                lambda m: (
                    m["type"] == "interval_cleared" and m["interval"]["interval_start"] == interval
                ),
                15,
            )
            assert news["interval"]["volume_wh"] == 500
            allocation = await _until(ws, lambda m: m["type"] == "allocation", 5)
            assert allocation["allocation"]["bought_local_wh"] == 500

        # Only the leader takes ledger writes and continuous orders; followers say who to ask.
        async with session.post(follower.url + "/api/v1/ledger/transactions", data=b"{}") as r:
            assert r.status == 503
            assert (await r.json())["error"] == "not_leader"
            assert r.headers["Retry-After"] == "1"

        # SIGKILL the leader: the follower takes over and the next interval clears.
        leader.kill()
        killed_at = time.monotonic()
        await wait_until(lambda: is_leader(session, follower), 15)
        takeover = time.monotonic() - killed_at
        print(f"takeover after SIGKILL: {takeover:.2f} s")
        assert takeover < 1.0, "one 0.2 s poll plus the new leader reloading its state"
        survivor_seller, survivor_buyer = (
            on(seller, session, follower),
            on(buyer, session, follower),
        )
        later = await bid_pair(survivor_seller, survivor_buyer)

        async def cleared() -> dict[str, Any] | None:
            try:
                record = await survivor_seller.interval(later)
            except HubError:  # 404 until it clears
                return None
            return record if record["volume_wh"] == 500 else None

        await wait_until(cleared, 15)
        intervals = await HubClient(session, follower.url).intervals(limit=3000)

        async def sealed() -> list[int] | None:  # the block comes just after the clearing
            recorded = await clearings_in_chain(pg_url)
            return recorded if later in recorded else None

        recorded = await wait_until(sealed, 10)
    starts = [i["interval_start"] for i in intervals]
    assert len(starts) == len(set(starts)), "every interval cleared exactly once"
    assert {interval, later} <= set(starts)
    follower.kill()
    verify = run_hub("verify", "--db", pg_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert len(recorded) == len(set(recorded)), "no clearing recorded twice in the ledger"
    assert interval in recorded


async def _one_leader(session: aiohttp.ClientSession, *workers: Worker) -> Worker | None:
    leaders = [w for w in workers if await is_leader(session, w)]
    return leaders[0] if len(leaders) == 1 else None


async def _until(
    ws: aiohttp.ClientWebSocketResponse, wanted: Any, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads((await ws.receive(timeout=max(0.1, deadline - time.monotonic()))).data)
        if wanted(message):
            return dict(message)


async def test_a_second_process_on_one_sqlite_file_never_clears(
    tmp_path: Path, processes: Processes
) -> None:
    """One process is the supported mode on SQLite; a second one is safe: it stays a follower."""
    db, config = f"sqlite:///{tmp_path / 'hub.db'}", write_config(tmp_path / "hub.toml")
    workers = [processes.worker(db, config, tmp_path / f"w{n}.log") for n in range(2)]
    async with aiohttp.ClientSession() as session:
        for worker in workers:
            worker.start()
            await wait_until(lambda w=worker: HubClient(session, w.url).health(), 30)
        await wait_until(lambda: _one_leader(session, *workers), 10)
        await asyncio.sleep(4)  # two intervals
        assert [await is_leader(session, w) for w in workers] == [True, False]
        intervals = await HubClient(session, workers[1].url).intervals(limit=3000)
    assert len(intervals) >= 1
    assert len({i["interval_start"] for i in intervals}) == len(intervals)
