"""Both modes in a running hub: a ledger-enabled hub records, settles and seals what either mode
cleared, and a hub clearing on its own (run_clearing) pushes results and dispatch in both modes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from gridcoop_home.ledger.entries import allocations_of
from gridcoop_home.ledger.tables import expand

from hub.config import HubConfig
from hub.ledger.service import commands
from hub.ledger.service.settings import LedgerSettings
from hub.server import routes_ledger
from hub.server.runtime import CLEARING
from hub.store.ledger_store import all_holdings
from tests.hub.modes.conftest import MakeHub
from tests.hub.modes.support import submit_order, with_feeder
from tests.hub.server.support import FakeClock, Home, Hub, curves

MODES = ["periodic", "continuous"]


async def offer(hub: Hub, mode: str, interval: int, seller: Home, buyer: Home) -> None:
    """The seller offers 1000 Wh of PV at 10, the buyer wants 600 Wh at 25: as bids or orders."""
    if mode == "periodic":
        await seller.client.submit_bid(interval, curves(sell=[(10, 1000, "pv")]))
        await buyer.client.submit_bid(interval, curves(buy=[(25, 600, "base")]))
    else:
        await submit_order(hub, seller, interval, "sell", 10, 1000, "pv", "pv")
        await submit_order(hub, buyer, interval, "buy", 25, 600, "base", "base")


@pytest.mark.parametrize("mode", MODES)
async def test_the_ledger_records_settles_and_seals_either_mode(
    make_hub: MakeHub, clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    ledger = LedgerSettings(enabled=True, key_file=str(tmp_path / "hub-ledger.key"))
    hub = await make_hub(with_feeder(HubConfig(ledger=ledger), market_mode=mode), clock=clock)
    seller = await hub.enrol("Seller", bus=12, meters=("grid", "pv"))
    buyer = await hub.enrol("Buyer", bus=22, meters=("grid",))
    interval = hub.config.next_open_interval(clock()) + 900
    start_ms, end_ms = interval * 1000, (interval + 900) * 1000
    clock.set(interval - 120)
    await offer(hub, mode, interval, seller, buyer)
    clock.set(interval - 30)  # readings exactly at the boundaries
    await seller.client.upload_readings(
        [seller.meter("grid").reading(0, 0, start_ms), seller.meter("pv").reading(0, 0, start_ms)]
    )
    await buyer.client.upload_readings([buyer.meter("grid").reading(0, 0, start_ms)])
    await hub.app[CLEARING].clear(interval)
    clock.set(interval + 900 + 30)
    await seller.client.upload_readings(
        [seller.meter("grid").reading(0, 620, end_ms), seller.meter("pv").reading(0, 650, end_ms)]
    )
    await buyer.client.upload_readings([buyer.meter("grid").reading(900, 0, end_ms)])
    await hub.app[CLEARING].clear(interval + 900)

    head = (await hub.raw("GET", "/api/v1/ledger/head")).body
    assert head["height"] == head["final_height"]
    entries = []
    for height in range(1, head["height"] + 1):
        block = (await hub.raw("GET", f"/api/v1/ledger/blocks/{height}")).body
        entries += [json.loads(e["data"]) for e in block["entries"]]
    [clearing] = [e for e in entries if e["kind"] == "clearing" and e["interval_start"] == interval]
    assert sorted(
        (a["home_id"], a["bought_local_wh"], a["sold_local_wh"]) for a in allocations_of(clearing)
    ) == sorted([(seller.home_id, 0, 600), (buyer.home_id, 600, 0)])
    [table] = [e for e in entries if e["kind"] == "settled_interval"]  # entry format 2
    settled = [e for e in expand(table) if e.get("interval_start") == interval]
    assert sorted(e["kind"] for e in settled) == [
        "burn",
        "flex_award",
        "mint",
        "settlement",
        "settlement",
    ]
    ledger_store = hub.app[routes_ledger.LEDGER_STORE]
    audit = await commands.verify_rows(
        ledger_store.iter_chain(), lambda: all_holdings(ledger_store), "auto", True
    )
    assert audit == 0  # the whole chain re-verifies: hashes, signatures, settlement


FAST = HubConfig(
    interval_seconds=2,
    gate_closure_seconds=1,
    allow_short_intervals=True,
    simulated_interval_seconds=900,  # each 2 s interval stands for 15 minutes of energy
)


async def cleared_and_allocated(
    buyer: Home, hub: Hub, mode: str, seller: Home
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Offer for an interval whose gate is still comfortably open; wait for the pushed results."""
    async with buyer.client.stream() as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        interval = FAST.next_open_interval(time.time())
        if FAST.gate_closure_of(interval) - time.time() < 0.4:  # too close to call: next one
            interval += FAST.interval_seconds
        await offer(hub, mode, interval, seller, buyer)
        cleared: dict[str, Any] | None = None
        allocation: dict[str, Any] | None = None
        async with asyncio.timeout(6):
            while cleared is None or allocation is None:
                message = await ws.receive_json()
                if message["type"] == "interval_cleared":
                    if message["interval"]["interval_start"] == interval:
                        cleared = message["interval"]
                elif message["type"] == "allocation":
                    allocation = message["allocation"]
    return cleared, allocation


@pytest.mark.parametrize("mode", MODES)
async def test_a_live_hub_clears_on_its_own_and_pushes_results_in_either_mode(
    make_hub: MakeHub, mode: str
) -> None:
    hub = await make_hub(with_feeder(FAST, market_mode=mode), clock=time.time, run_clearing=True)
    seller, buyer = await hub.enrol(bus=12), await hub.enrol(bus=1)

    cleared, allocation = await cleared_and_allocated(buyer, hub, mode, seller)

    assert cleared["method"] == ("merit_order" if mode == "periodic" else "continuous")
    assert (cleared["participants"], cleared["volume_wh"], cleared["late"]) == (2, 600, False)
    assert allocation["home_id"] == buyer.home_id
    assert allocation["bought_local_wh"] == 600
    assert allocation["interval_start"] == cleared["interval_start"]
