"""A served hub with run_clearing=True clears on its own at every gate and pushes the results."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hub.config import HubConfig
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import curves

FAST = HubConfig(interval_seconds=2, gate_closure_seconds=1, allow_short_intervals=True)


async def test_bid_for_the_next_open_interval_is_cleared_and_pushed_within_5_seconds(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(FAST, clock=time.time, run_clearing=True)
    seller, buyer = await hub.enrol(), await hub.enrol()

    async with buyer.client.stream() as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        interval = FAST.next_open_interval(time.time())
        if FAST.gate_closure_of(interval) - time.time() < 0.3:  # too close to call: next one
            interval += FAST.interval_seconds
        await seller.client.submit_bid(interval, curves(sell=[(10, 300, "battery")]))
        await buyer.client.submit_bid(interval, curves(buy=[(25, 300, "battery")]))
        submitted = time.monotonic()

        cleared: dict[str, Any] | None = None
        allocation: dict[str, Any] | None = None
        async with asyncio.timeout(5):
            while cleared is None or allocation is None:
                message = await ws.receive_json()
                if message["type"] == "interval_cleared":
                    if message["interval"]["interval_start"] == interval:
                        cleared = message["interval"]
                elif message["type"] == "allocation":
                    assert message["allocation"]["interval_start"] == interval  # only bid here
                    allocation = message["allocation"]
        elapsed = time.monotonic() - submitted

    assert elapsed < 5
    assert cleared["participants"] == 2
    assert cleared["volume_wh"] == 300
    assert cleared["late"] is False
    assert allocation["home_id"] == buyer.home_id
    assert allocation["bought_local_wh"] == 300
    assert allocation["dispatch"][0]["device"] == "battery"
    assert allocation["dispatch"][0]["action"] == "charge"
    assert (await buyer.client.result(interval))["allocation"] == allocation
