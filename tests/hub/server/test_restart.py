"""Restart: everything the hub acknowledged survives a stop and a fresh app on the same database."""

from __future__ import annotations

from pathlib import Path

from gridcoop_home.client.hub import HubClient

from hub.server.runtime import CLEARING
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import FakeClock, curves


async def test_homes_readings_bids_and_cleared_intervals_survive_a_restart(
    make_hub: MakeHub, clock: FakeClock, tmp_path: Path
) -> None:
    db = tmp_path / "persistent.db"
    first = await make_hub(db_path=db)
    seller = await first.enrol("Seller", bus=4, meters=("grid", "pv"))
    buyer = await first.enrol("Buyer")
    await seller.client.upload_readings(
        [seller.meter("grid").reading(1000, 20), seller.meter("pv").reading(0, 700)]
    )
    cleared = first.config.next_open_interval(clock())
    pending = cleared + first.config.interval_seconds
    await seller.client.submit_bid(cleared, curves(sell=[(10, 400, "battery")]))
    await buyer.client.submit_bid(cleared, curves(buy=[(25, 400, "base")]))
    await buyer.client.submit_bid(pending, curves(buy=[(24, 100, "ev")]))
    clock.set(first.config.gate_closure_of(cleared))
    replay_me = first.signed_headers(buyer.key, "GET", "/api/v1/home")  # fresh at restart time
    assert (await first.raw("GET", "/api/v1/home", headers=replay_me)).status == 200
    assert await first.app[CLEARING].clear(cleared) is not None
    homes_before = (await seller.client.home(), await buyer.client.home())
    readings_before = await seller.client.readings()
    bids_before = (await buyer.client.bid(cleared), await buyer.client.bid(pending))
    result_before = await seller.client.result(cleared)
    await first.stop()

    second = await make_hub(db_path=db)
    seller_again = HubClient(second.session, second.url, home_key=seller.key)
    buyer_again = HubClient(second.session, second.url, home_key=buyer.key)

    assert (await seller_again.home(), await buyer_again.home()) == homes_before
    assert homes_before[0]["name"] == "Seller"
    assert len(homes_before[0]["keys"]) == 3
    assert await seller_again.readings() == readings_before
    assert len(readings_before) == 2
    assert (await buyer_again.bid(cleared), await buyer_again.bid(pending)) == bids_before
    assert await seller_again.result(cleared) == result_before
    assert result_before["allocation"]["sold_local_wh"] == 400
    assert [iv["interval_start"] for iv in await second.client().intervals(to=pending)] == [cleared]
    # the restarted hub neither clears twice nor forgets replay or meter state
    assert await second.app[CLEARING].clear(cleared) is None
    replayed = await second.raw("GET", "/api/v1/home", headers=replay_me)
    assert (replayed.status, replayed.body["error"]) == (409, "replay")
    lower = await seller_again.upload_readings([seller.meter("grid").reading(999, 20)])
    assert lower["results"][0]["reason"] == "register_decreased"
    # and the bid stored before the restart is cleared by the new hub
    clock.set(second.config.gate_closure_of(pending))
    [record] = await second.app[CLEARING].clear_due()
    assert (record.interval_start, record.participants) == (pending, 1)
