"""The busy write routes (readings, bids) accept a request's sequence in the same transaction as
their own writes, and still keep every rule of a signed request: an authentic request spends its
sequence whatever its fate, a replay stores nothing, a revoked home or key is told so first."""

from __future__ import annotations

from gridcoop_home.protocol.readings import Registers, sign_reading

from hub.store import Store
from tests.hub.server.support import FakeClock, Hub, Reply, curves, encode

READINGS = "/api/v1/readings"
BIDS = "/api/v1/bids"


def refused(reply: Reply, status: int, reason: str) -> bool:
    return reply.status == status and reply.body["error"] == reason


async def test_an_upload_refused_for_its_body_still_spends_its_sequence(hub: Hub) -> None:
    home = await hub.enrol()
    body = encode({"readings": []})
    headers = hub.signed_headers(home.key, "POST", READINGS, body)

    first = await hub.raw("POST", READINGS, body, headers)
    again = await hub.raw("POST", READINGS, body, headers)

    assert refused(first, 400, "malformed")
    assert refused(again, 409, "replay")


async def test_a_bid_refused_at_its_gate_still_spends_its_request_sequence(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    closed = hub.config.next_open_interval(clock()) - hub.config.interval_seconds
    body = encode(home.client.sign_bid(closed, curves(buy=[(20, 100, "base")])).to_wire())
    headers = hub.signed_headers(home.key, "POST", BIDS, body)

    first = await hub.raw("POST", BIDS, body, headers)
    again = await hub.raw("POST", BIDS, body, headers)

    assert refused(first, 409, "gate_closed")
    assert refused(again, 409, "replay")
    assert "request sequence" in again.body["detail"]


async def test_a_bid_replayed_inside_a_fresh_request_spends_the_request_sequence(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    interval = hub.config.next_open_interval(clock())
    message = home.client.sign_bid(interval, curves(buy=[(20, 100, "base")]))
    await home.client.submit_signed_bid(message)
    body = encode(message.to_wire())
    headers = hub.signed_headers(home.key, "POST", BIDS, body)

    first = await hub.raw("POST", BIDS, body, headers)
    again = await hub.raw("POST", BIDS, body, headers)

    assert refused(first, 409, "replay") and "bid sequence" in first.body["detail"]
    assert refused(again, 409, "replay") and "request sequence" in again.body["detail"]


async def test_an_upload_under_a_used_request_sequence_stores_none_of_its_readings(
    hub: Hub,
) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    first = encode({"readings": [meter.reading(100, 0).to_wire()]})
    second = encode({"readings": [meter.reading(200, 0).to_wire()]})  # good readings...
    seq = 7

    accepted = await hub.raw(
        "POST", READINGS, first, hub.signed_headers(home.key, "POST", READINGS, first, seq=seq)
    )
    replayed = await hub.raw(  # ...under a request sequence that was used already
        "POST", READINGS, second, hub.signed_headers(home.key, "POST", READINGS, second, seq=seq)
    )

    assert (accepted.status, accepted.body["accepted"]) == (200, 1)
    assert refused(replayed, 409, "replay")
    assert [r["import_wh"] for r in await home.client.readings()] == [100]


async def test_a_revoked_home_hears_so_before_anything_about_its_body(hub: Hub) -> None:
    home = await hub.enrol()
    assert await hub.store.revoke_home(home.home_id, hub.now_ms())

    upload = await hub.signed(home.key, "POST", READINGS, {"readings": "none"})
    bid = await hub.signed(home.key, "POST", BIDS, {"not": "a bid"})

    assert refused(upload, 403, "home_revoked")
    assert refused(bid, 403, "home_revoked")


async def test_a_revoked_key_with_a_wrong_clock_hears_that_it_is_revoked(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    assert await hub.store.revoke_key(home.key.key_id, hub.now_ms())

    stale = await hub.signed(home.key, "GET", "/api/v1/home", ts_ms=clock.ms() - 3_600_000)
    upload = await hub.signed(home.key, "POST", READINGS, {"readings": []}, ts_ms=clock.ms())

    assert refused(stale, 403, "revoked_key")
    assert refused(upload, 403, "revoked_key")


async def test_a_key_revoked_by_another_process_is_refused_at_once(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    reading = sign_reading(meter.key, Registers(10, 0), seq=1, ts_ms=clock.ms())
    assert (await home.client.upload_readings([reading]))["accepted"] == 1  # key known, cached

    other = await Store.open(hub.db_url)  # e.g. `python -m hub revoke` or another worker
    try:
        assert await other.revoke_key(home.key.key_id, hub.now_ms())
    finally:
        await other.close()
    later = sign_reading(meter.key, Registers(20, 0), seq=2, ts_ms=clock.ms())
    upload = await hub.signed(home.key, "POST", READINGS, {"readings": [later.to_wire()]})

    assert refused(upload, 403, "revoked_key")
    assert [r.seq for r in await hub.store.readings_for(home.home_id)] == [1]
