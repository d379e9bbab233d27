"""Clearing: each interval clears exactly once at its gate, from the stored bids of active homes.

The neighbourhood used below (retail 30, feed-in 8, fee 1 per side, k = 50):

    Battery  sells 1000 Wh at 10 (battery)   -> effective ask 11
    Solar    sells 1000 Wh at 12 (pv)        -> effective ask 13
    Family   buys  1500 Wh at 30 (base)      -> effective bid 29 (grid backs it up)
    Bakery   buys  1000 Wh at 30 (base)      -> effective bid 29 (grid backs it up)
    Driver   buys  1000 Wh at 25 (ev)        -> effective bid 24

Supply (2000 Wh) is short of the retail-priced demand (2500 Wh): both sellers sell everything
locally, Family and Bakery share the 2000 Wh pro rata and import the rest (500 Wh) from the grid,
and the EV gets nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gridcoop_home.client.hub import HubError

from hub.config import HubConfig
from hub.server.runtime import CLEARING
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import FakeClock, Home, Hub, curves

BIDS: dict[str, dict[str, list[tuple[int, int, str]]]] = {
    "Battery": {"sell": [(10, 1000, "battery")]},
    "Solar": {"sell": [(12, 1000, "pv")]},
    "Family": {"buy": [(30, 1500, "base")]},
    "Bakery": {"buy": [(30, 1000, "base")]},
    "Driver": {"buy": [(25, 1000, "ev")]},
}


@pytest.fixture
async def fee_hub(make_hub: MakeHub) -> Hub:
    return await make_hub(HubConfig(fee_per_kwh=1, k_percent=50))


async def neighbourhood(hub: Hub, interval: int) -> dict[str, Home]:
    homes = {}
    for name, sides in BIDS.items():
        homes[name] = await hub.enrol(name)
        await homes[name].client.submit_bid(interval, curves(**sides))
    return homes


async def cleared_market(hub: Hub, clock: FakeClock) -> tuple[int, dict[str, Home], Any]:
    interval = hub.config.next_open_interval(clock())
    homes = await neighbourhood(hub, interval)
    clock.set(hub.config.gate_closure_of(interval) + 1)
    record = await hub.app[CLEARING].clear(interval)
    return interval, homes, record


async def allocations(homes: dict[str, Home], interval: int) -> dict[str, dict[str, Any]]:
    return {name: (await h.client.result(interval))["allocation"] for name, h in homes.items()}


async def test_clearing_stores_the_interval_with_a_price_between_feed_in_and_retail(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval, _, record = await cleared_market(fee_hub, clock)
    assert record is not None

    # cleared at the gate, before it starts: list up to its start (the default is "up to now")
    public = await fee_hub.client().intervals(to=interval)
    assert [iv["interval_start"] for iv in public] == [interval]
    shown = public[0]
    assert shown == await fee_hub.client().interval(interval)
    assert shown["interval_end"] == interval + 900
    assert (shown["retail_price"], shown["feed_in_price"]) == (30, 8)
    assert shown["feed_in_price"] < shown["price"] < shown["retail_price"]
    assert shown["price_low"] <= shown["price"] <= shown["price_high"]
    assert shown["volume_wh"] == 2000  # all local supply
    assert shown["grid_import_wh"] == 500  # retail-priced demand the neighbourhood lacked
    assert shown["grid_export_wh"] == 0
    assert shown["participants"] == 5
    assert (shown["fee_per_kwh"], shown["k_percent"]) == (1, 50)
    assert shown["fees_mminor"] == 2 * 1 * 2000
    assert shown["late"] is False
    assert shown["cleared_at"] == clock.ms()


async def test_each_home_gets_its_own_allocation_for_its_newest_bid(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval = fee_hub.config.next_open_interval(clock())
    homes = await neighbourhood(fee_hub, interval)
    replaced = await homes["Driver"].client.submit_bid(interval, curves(buy=[(26, 900, "ev")]))
    clock.set(fee_hub.config.gate_closure_of(interval))
    await fee_hub.app[CLEARING].clear(interval)

    for name, home in homes.items():
        answer = await home.client.result(interval)
        assert answer["interval"]["interval_start"] == interval
        assert answer["allocation"]["home_id"] == home.home_id, name
        assert answer["allocation"]["bid_digest"] == (await home.client.bid(interval))["digest"]
        listed = await home.client.results(to=interval)
        assert [a["interval_start"] for a in listed] == [interval]
        assert listed[0] == answer["allocation"]
    assert (await homes["Driver"].client.result(interval))["allocation"]["bid_digest"] == (
        replaced["digest"]
    )


async def test_allocations_follow_the_bids(fee_hub: Hub, clock: FakeClock) -> None:
    interval, homes, _ = await cleared_market(fee_hub, clock)
    got = await allocations(homes, interval)

    energy = {
        name: (a["bought_local_wh"], a["bought_grid_wh"], a["sold_local_wh"], a["sold_grid_wh"])
        for name, a in got.items()
    }
    assert energy == {
        "Battery": (0, 0, 1000, 0),
        "Solar": (0, 0, 1000, 0),
        "Family": (1200, 300, 0, 0),  # 1500/2500 of the 2000 Wh, the rest from the grid
        "Bakery": (800, 200, 0, 0),
        "Driver": (0, 0, 0, 0),  # 25 is below the marginal price: nothing, and no grid either
    }


async def test_budget_balances_across_homes(fee_hub: Hub, clock: FakeClock) -> None:
    interval, homes, _ = await cleared_market(fee_hub, clock)
    shown = await fee_hub.client().interval(interval)
    price, fee = shown["price"], shown["fee_per_kwh"]
    retail, feed_in = shown["retail_price"], shown["feed_in_price"]
    got = (await allocations(homes, interval)).values()

    paid_local = [a["paid_mminor"] - retail * a["bought_grid_wh"] for a in got]
    received_local = [a["received_mminor"] - feed_in * a["sold_grid_wh"] for a in got]
    fees = [a["fees_mminor"] for a in got]

    assert sum(paid_local) == sum(received_local) + sum(fees)
    assert sum(fees) == shown["fees_mminor"] > 0
    for a in got:  # every home pays / receives the one uniform price, fee on each side
        assert (
            a["paid_mminor"] == (price + fee) * a["bought_local_wh"] + retail * a["bought_grid_wh"]
        )
        assert (
            a["received_mminor"] == (price - fee) * a["sold_local_wh"] + feed_in * a["sold_grid_wh"]
        )
        assert a["fees_mminor"] == fee * (a["bought_local_wh"] + a["sold_local_wh"])
    assert sum(a["bought_local_wh"] for a in got) == shown["volume_wh"]
    assert sum(a["sold_local_wh"] for a in got) == shown["volume_wh"]


async def test_dispatch_commands_match_the_assets_behind_filled_steps(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval, homes, _ = await cleared_market(fee_hub, clock)
    got = await allocations(homes, interval)
    seconds = fee_hub.config.interval_seconds

    [battery] = got["Battery"]["dispatch"]
    assert (battery["device"], battery["action"]) == ("battery", "discharge")
    assert battery["energy_wh"] == 1000
    assert battery["power_w"] == 1000 * 3600 // seconds == 4000
    [pv] = got["Solar"]["dispatch"]
    assert (pv["device"], pv["action"], pv["energy_wh"], pv["power_w"]) == (
        "pv",
        "export",
        1000,
        4000,
    )
    [ev] = got["Driver"]["dispatch"]
    assert (ev["device"], ev["action"], ev["power_w"], ev["energy_wh"]) == ("ev", "pause", 0, 0)
    assert got["Family"]["dispatch"] == []  # base load: nothing to command
    assert all(command["reason"] for a in got.values() for command in a["dispatch"])


async def test_dispatch_power_uses_the_simulated_interval_length(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(
        HubConfig(
            interval_seconds=60,
            gate_closure_seconds=10,
            allow_short_intervals=True,
            simulated_interval_seconds=900,
        )
    )
    interval = hub.config.next_open_interval(clock())
    seller, buyer = await hub.enrol(), await hub.enrol()
    await seller.client.submit_bid(interval, curves(sell=[(10, 500, "battery")]))
    await buyer.client.submit_bid(interval, curves(buy=[(20, 500, "load:washer")]))
    clock.set(hub.config.gate_closure_of(interval))
    await hub.app[CLEARING].clear(interval)

    [discharge] = (await seller.client.result(interval))["allocation"]["dispatch"]
    [start] = (await buyer.client.result(interval))["allocation"]["dispatch"]
    assert (discharge["action"], discharge["power_w"]) == ("discharge", 500 * 3600 // 900)
    assert (start["device"], start["action"], start["power_w"]) == ("load:washer", "start", 2000)


async def test_clearing_the_same_interval_again_returns_none_and_changes_nothing(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval, homes, first = await cleared_market(fee_hub, clock)
    before = await fee_hub.client().interval(interval)
    allocations_before = await fee_hub.store.allocations_for_interval(interval)
    await homes["Family"].client.submit_bid(
        interval + 900, curves(buy=[(30, 9999, "base")])
    )  # unrelated activity
    clock.advance(600)

    again = await fee_hub.app[CLEARING].clear(interval)

    assert first is not None
    assert again is None
    assert await fee_hub.client().interval(interval) == before
    assert await fee_hub.store.allocations_for_interval(interval) == allocations_before
    assert len(await fee_hub.client().intervals(to=interval + 900)) == 1


async def test_concurrent_clearing_of_one_interval_stores_it_once(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval = fee_hub.config.next_open_interval(clock())
    await neighbourhood(fee_hub, interval)
    clock.set(fee_hub.config.gate_closure_of(interval))

    results = await asyncio.gather(*(fee_hub.app[CLEARING].clear(interval) for _ in range(3)))

    assert sum(r is not None for r in results) == 1
    assert len(await fee_hub.store.allocations_for_interval(interval)) == 5


async def test_interval_without_bids_gets_a_record_with_null_price(
    hub: Hub, clock: FakeClock
) -> None:
    interval = hub.config.next_open_interval(clock())
    clock.set(hub.config.gate_closure_of(interval) + 5)

    [record] = await hub.app[CLEARING].clear_due()

    assert record.interval_start == interval
    shown = await hub.client().interval(interval)
    assert shown["price"] is None
    assert (shown["price_low"], shown["price_high"]) == (None, None)
    assert (shown["volume_wh"], shown["participants"]) == (0, 0)
    assert (shown["grid_import_wh"], shown["grid_export_wh"]) == (0, 0)
    assert await hub.store.allocations_for_interval(interval) == []


async def test_one_sided_market_has_null_price_but_allocations_and_grid_flows(
    hub: Hub, clock: FakeClock
) -> None:
    interval = hub.config.next_open_interval(clock())
    buyer = await hub.enrol()
    await buyer.client.submit_bid(interval, curves(buy=[(30, 700, "base"), (20, 300, "ev")]))
    clock.set(hub.config.gate_closure_of(interval))
    await hub.app[CLEARING].clear(interval)

    answer = await buyer.client.result(interval)
    assert answer["interval"]["price"] is None
    assert answer["interval"]["participants"] == 1
    assert answer["allocation"]["bought_grid_wh"] == 700  # only the step at retail goes to grid
    assert answer["allocation"]["paid_mminor"] == 30 * 700


async def test_clear_due_before_the_gate_closes_does_not_clear_the_open_interval(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval = fee_hub.config.next_open_interval(clock())
    await neighbourhood(fee_hub, interval)
    clock.set(fee_hub.config.gate_closure_of(interval) - 1)

    cleared = await fee_hub.app[CLEARING].clear_due()

    assert interval not in [r.interval_start for r in cleared]
    assert await fee_hub.store.get_interval(interval) is None


async def test_clear_due_after_gate_closure_clears_the_interval_on_time(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval = fee_hub.config.next_open_interval(clock())
    await neighbourhood(fee_hub, interval)
    clock.set(fee_hub.config.gate_closure_of(interval))

    [record] = await fee_hub.app[CLEARING].clear_due()

    assert (record.interval_start, record.participants, record.late) == (interval, 5, False)
    assert await fee_hub.app[CLEARING].clear_due() == []  # nothing left to do


async def test_revoked_homes_bid_is_ignored(fee_hub: Hub, clock: FakeClock) -> None:
    interval = fee_hub.config.next_open_interval(clock())
    homes = await neighbourhood(fee_hub, interval)
    assert await fee_hub.store.revoke_home(homes["Solar"].home_id, fee_hub.now_ms())
    clock.set(fee_hub.config.gate_closure_of(interval))

    record = await fee_hub.app[CLEARING].clear(interval)

    assert record is not None
    assert record.participants == 4
    assert record.volume_wh == 1000  # only the battery's 1000 Wh is left to sell
    stored = await fee_hub.store.allocations_for_interval(interval)
    assert homes["Solar"].home_id not in {a.home_id for a in stored}
    assert len(stored) == 4


async def test_bid_signed_by_a_since_revoked_home_key_is_ignored(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval = fee_hub.config.next_open_interval(clock())
    homes = await neighbourhood(fee_hub, interval)
    assert await fee_hub.store.revoke_key(homes["Battery"].key.key_id, fee_hub.now_ms())
    clock.set(fee_hub.config.gate_closure_of(interval))

    record = await fee_hub.app[CLEARING].clear(interval)

    assert record is not None
    assert record.participants == 4
    assert record.volume_wh == 1000  # only the solar home's 1000 Wh is left to sell


async def test_catch_up_clears_bids_whose_gate_passed_while_down_marked_late(
    fee_hub: Hub, clock: FakeClock
) -> None:
    first = fee_hub.config.next_open_interval(clock())
    second = first + 900
    homes = await neighbourhood(fee_hub, first)
    await homes["Battery"].client.submit_bid(second, curves(sell=[(10, 400, "battery")]))
    await homes["Family"].client.submit_bid(second, curves(buy=[(30, 400, "base")]))
    clock.set(second + 2 * 900 + 100)  # "down" until well after both intervals began

    cleared = await fee_hub.app[CLEARING].clear_due()

    by_start = {r.interval_start: r for r in cleared}
    assert first in by_start
    assert second in by_start
    assert (by_start[first].participants, by_start[second].participants) == (5, 2)
    assert by_start[first].late is True
    assert by_start[second].late is True
    assert by_start[second].volume_wh == 400
    for record in cleared:
        assert record.late == (record.cleared_at > record.interval_start * 1000)
    allocation = (await homes["Battery"].client.result(second))["allocation"]
    assert allocation["dispatch"][0]["action"] == "discharge"
    assert await fee_hub.app[CLEARING].clear_due() == []


async def test_results_of_an_uncleared_interval_are_404(hub: Hub, clock: FakeClock) -> None:
    home = await hub.enrol()
    with pytest.raises(HubError) as refusal:
        await home.client.result(hub.config.next_open_interval(clock()))
    assert (refusal.value.status, refusal.value.reason) == (404, "not_found")


async def test_home_that_did_not_bid_sees_the_interval_with_a_null_allocation(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval, _, _ = await cleared_market(fee_hub, clock)
    bystander = await fee_hub.enrol("Bystander")
    answer = await bystander.client.result(interval)
    assert answer["allocation"] is None
    assert answer["interval"]["participants"] == 5
    assert await bystander.client.results(to=interval) == []


async def test_public_listing_defaults_to_the_last_day_and_the_intervals_already_cleared_ahead(
    fee_hub: Hub, clock: FakeClock
) -> None:
    interval, _, _ = await cleared_market(fee_hub, clock)
    # Cleared at its gate, before it starts: homes need its dispatch now, so it is listed.
    assert [iv["interval_start"] for iv in await fee_hub.client().intervals()] == [interval]
    clock.set(interval)
    assert [iv["interval_start"] for iv in await fee_hub.client().intervals()] == [interval]
    clock.set(interval + 24 * 3600 + 1)
    assert await fee_hub.client().intervals() == []
    assert len(await fee_hub.client().intervals(**{"from": interval, "to": interval})) == 1
