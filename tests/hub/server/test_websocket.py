"""WebSocket: market news for everyone, each home's allocation only to that home."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from gridcoop_home.client.hub import HubError
from gridcoop_home.protocol.keys import SigningKey

from hub.server.runtime import BROADCASTER, CLEARING
from tests.hub.server.support import FakeClock, Hub, curves


async def drain(ws: aiohttp.ClientWebSocketResponse, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Every message that arrives until the socket stays quiet for `quiet` seconds."""
    messages = []
    while True:
        try:
            messages.append(await ws.receive_json(timeout=quiet))
        except TimeoutError:
            return messages


async def test_unsigned_subscriber_gets_hello_then_interval_cleared(
    hub: Hub, clock: FakeClock
) -> None:
    interval = hub.config.next_open_interval(clock())
    seller, buyer = await hub.enrol(), await hub.enrol()
    await seller.client.submit_bid(interval, curves(sell=[(10, 500, "battery")]))
    await buyer.client.submit_bid(interval, curves(buy=[(25, 500, "base")]))

    async with hub.client().stream() as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello == {"type": "hello", "home_id": None, "server_time_ms": clock.ms()}
        clock.set(hub.config.gate_closure_of(interval))
        await hub.app[CLEARING].clear(interval)
        messages = await drain(ws)

    assert [m["type"] for m in messages] == ["interval_cleared"]
    assert messages[0]["interval"] == await hub.client().interval(interval)
    assert messages[0]["interval"]["volume_wh"] == 500


async def test_signed_subscriber_also_gets_its_own_allocation_and_never_anothers(
    hub: Hub, clock: FakeClock
) -> None:
    interval = hub.config.next_open_interval(clock())
    seller, buyer = await hub.enrol(), await hub.enrol()
    await seller.client.submit_bid(interval, curves(sell=[(10, 500, "battery")]))
    await buyer.client.submit_bid(interval, curves(buy=[(25, 500, "ev")]))

    async with seller.client.stream() as seller_ws, buyer.client.stream() as buyer_ws:
        assert (await seller_ws.receive_json(timeout=5))["home_id"] == seller.home_id
        assert (await buyer_ws.receive_json(timeout=5))["home_id"] == buyer.home_id
        clock.set(hub.config.gate_closure_of(interval))
        await hub.app[CLEARING].clear(interval)
        to_seller, to_buyer = await drain(seller_ws), await drain(buyer_ws)

    assert [m["type"] for m in to_seller] == ["interval_cleared", "allocation"]
    assert [m["type"] for m in to_buyer] == ["interval_cleared", "allocation"]
    seller_allocation = to_seller[1]["allocation"]
    assert seller_allocation["home_id"] == seller.home_id
    assert seller_allocation == (await seller.client.result(interval))["allocation"]
    assert seller_allocation["dispatch"] == [
        {
            "device": "battery",
            "action": "discharge",
            "power_w": 2000,
            "energy_wh": 500,
            "reason": "baseline +0 Wh, bought 0 Wh, sold 500 Wh",
        }
    ]
    assert to_buyer[1]["allocation"]["home_id"] == buyer.home_id
    assert to_buyer[1]["allocation"]["dispatch"][0]["action"] == "charge"


async def test_home_without_a_bid_gets_news_but_no_allocation(hub: Hub, clock: FakeClock) -> None:
    interval = hub.config.next_open_interval(clock())
    bidder, bystander = await hub.enrol(), await hub.enrol()
    await bidder.client.submit_bid(interval, curves(buy=[(25, 500, "base")]))

    async with bystander.client.stream() as ws:
        await ws.receive_json(timeout=5)
        clock.set(hub.config.gate_closure_of(interval))
        await hub.app[CLEARING].clear(interval)
        messages = await drain(ws)

    assert [m["type"] for m in messages] == ["interval_cleared"]


async def test_closed_subscribers_are_forgotten(hub: Hub) -> None:
    broadcaster = hub.app[BROADCASTER]
    async with hub.client().stream() as ws:
        await ws.receive_json(timeout=5)
        assert broadcaster.subscriber_count == 1
    for _ in range(50):
        if broadcaster.subscriber_count == 0:
            break
        await asyncio.sleep(0.01)
    assert broadcaster.subscriber_count == 0


async def test_stream_with_an_unknown_key_is_refused(hub: Hub) -> None:
    with pytest.raises(HubError) as refusal:
        async with hub.client(SigningKey.generate()).stream():
            pass
    assert refusal.value.status == 401


async def test_stream_of_a_revoked_home_is_refused(hub: Hub) -> None:
    home = await hub.enrol()
    await hub.store.revoke_home(home.home_id, hub.now_ms())
    with pytest.raises(HubError) as refusal:
        async with home.client.stream():
            pass
    assert refusal.value.status == 403


async def test_forged_stream_handshake_is_refused_with_401(hub: Hub) -> None:
    home = await hub.enrol()
    headers = hub.signed_headers(home.key, "GET", "/api/v1/ws")
    headers["X-GridCoop-Signature"] = SigningKey.generate().sign(b"x")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
        await hub.session.ws_connect(hub.url + "/api/v1/ws", headers=headers)
    assert refusal.value.status == 401


async def test_a_closed_stream_leaves_no_heartbeat_timer_behind(hub: Hub) -> None:
    home = await hub.enrol()
    loop = asyncio.get_running_loop()

    for read_hello in (True, False):  # a frame read, or one still in flight, when it closes
        async with home.client.stream() as ws:
            if read_hello:
                await ws.receive_json(timeout=5)
        for _ in range(3):  # what the close scheduled runs now
            await asyncio.sleep(0)

        assert ws.closed
        timers = [t for t in loop._scheduled if not t.cancelled()]  # type: ignore[attr-defined]
        assert not [t for t in timers if "_send_heartbeat" in repr(t)], read_hello
