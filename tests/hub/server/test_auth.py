"""Signed requests: only a fresh, correctly signed request with an active home key gets in."""

from __future__ import annotations

import pytest
from gridcoop_home.client.hub import HubError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.requests import (
    HEADER_DIGEST,
    HEADER_KEY_ID,
    HEADER_SEQ,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    content_digest,
)

from hub.config import HubConfig, NetworkSettings
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import FakeClock, Hub, Reply, encode

HOME = "/api/v1/home"
FAR_AHEAD_SEQ = 2**62  # far above anything the real client will use next


def refused(reply: Reply, status: int, reason: str) -> bool:
    return reply.status == status and reply.body["error"] == reason


async def test_signed_request_with_home_key_is_answered_with_that_home(hub: Hub) -> None:
    home = await hub.enrol("House 5", bus=2)
    reply = await hub.signed(home.key, "GET", HOME)
    assert reply.status == 200
    assert reply.body["home_id"] == home.home_id
    assert (reply.body["name"], reply.body["bus"]) == ("House 5", 2)


@pytest.mark.parametrize(
    "path", [HOME, "/api/v1/readings", "/api/v1/bids/900", "/api/v1/results", "/api/v1/results/0"]
)
async def test_unsigned_request_to_a_home_endpoint_is_401_unauthenticated(
    hub: Hub, path: str
) -> None:
    reply = await hub.raw("GET", path)
    assert refused(reply, 401, "unauthenticated")


async def test_request_missing_one_signature_header_is_401_unauthenticated(hub: Hub) -> None:
    home = await hub.enrol()
    for missing in (HEADER_KEY_ID, HEADER_SEQ, HEADER_TIMESTAMP, HEADER_DIGEST, HEADER_SIGNATURE):
        headers = hub.signed_headers(home.key, "GET", HOME)
        del headers[missing]
        reply = await hub.raw("GET", HOME, headers=headers)
        assert refused(reply, 401, "unauthenticated"), missing
        assert missing in reply.body["detail"]


async def test_forged_signature_is_401_bad_signature(hub: Hub) -> None:
    home = await hub.enrol()
    headers = hub.signed_headers(home.key, "GET", HOME)
    forger = SigningKey.generate()
    headers[HEADER_SIGNATURE] = hub.signed_headers(forger, "GET", HOME)[HEADER_SIGNATURE]
    assert refused(await hub.raw("GET", HOME, headers=headers), 401, "bad_signature")


async def test_signature_for_another_path_is_401_bad_signature(hub: Hub) -> None:
    home = await hub.enrol()
    headers = hub.signed_headers(home.key, "GET", "/api/v1/results")
    assert refused(await hub.raw("GET", HOME, headers=headers), 401, "bad_signature")


async def test_signature_covers_the_query_string(hub: Hub) -> None:
    home = await hub.enrol()
    headers = hub.signed_headers(home.key, "GET", "/api/v1/readings?limit=5")
    reply = await hub.raw("GET", "/api/v1/readings?limit=6", headers=headers)
    assert refused(reply, 401, "bad_signature")


async def test_tampered_body_is_401_even_with_a_matching_digest_header(hub: Hub) -> None:
    home = await hub.enrol()
    signed_body = encode({"readings": [home.meters[0].reading(1, 0).to_wire()]})
    tampered = encode({"readings": [home.meters[0].reading(999, 0).to_wire()]})
    headers = hub.signed_headers(home.key, "POST", "/api/v1/readings", signed_body)

    digest_mismatch = await hub.raw("POST", "/api/v1/readings", tampered, headers)
    headers[HEADER_DIGEST] = content_digest(tampered)
    digest_recomputed = await hub.raw("POST", "/api/v1/readings", tampered, headers)

    assert refused(digest_mismatch, 401, "bad_signature")
    assert refused(digest_recomputed, 401, "bad_signature")
    assert await hub.store.count_readings() == 0


async def test_replayed_request_is_409_replay(hub: Hub) -> None:
    home = await hub.enrol()
    headers = hub.signed_headers(home.key, "GET", HOME)
    assert (await hub.raw("GET", HOME, headers=headers)).status == 200
    assert refused(await hub.raw("GET", HOME, headers=headers), 409, "replay")


async def test_request_with_lower_sequence_than_last_accepted_is_409_replay(hub: Hub) -> None:
    home = await hub.enrol()
    assert (await hub.signed(home.key, "GET", HOME, seq=1000)).status == 200
    assert refused(await hub.signed(home.key, "GET", HOME, seq=999), 409, "replay")
    assert (await hub.signed(home.key, "GET", HOME, seq=1001)).status == 200


async def test_timestamp_at_the_window_edge_is_accepted(hub: Hub, clock: FakeClock) -> None:
    home = await hub.enrol()
    window = hub.config.request_window_ms
    assert window == 5 * 60_000
    old = await hub.signed(home.key, "GET", HOME, ts_ms=clock.ms() - window)
    ahead = await hub.signed(home.key, "GET", HOME, ts_ms=clock.ms() + window)
    assert (old.status, ahead.status) == (200, 200)


@pytest.mark.parametrize(
    ("offset_ms", "reason"),
    [(-(5 * 60_000) - 1, "timestamp_too_old"), (5 * 60_000 + 1, "timestamp_in_future")],
)
async def test_timestamp_outside_the_window_is_401(
    hub: Hub, clock: FakeClock, offset_ms: int, reason: str
) -> None:
    home = await hub.enrol()
    reply = await hub.signed(home.key, "GET", HOME, ts_ms=clock.ms() + offset_ms)
    assert refused(reply, 401, reason)


async def test_unknown_key_is_401_unknown_key(hub: Hub) -> None:
    await hub.enrol()
    stranger = SigningKey.generate()
    assert refused(await hub.signed(stranger, "GET", HOME), 401, "unknown_key")


async def test_meter_key_used_as_request_key_is_403_wrong_key_kind(hub: Hub) -> None:
    home = await hub.enrol(meters=("grid",))
    reply = await hub.signed(home.meters[0].key, "GET", HOME)
    assert refused(reply, 403, "wrong_key_kind")


async def test_revoked_home_is_403(hub: Hub) -> None:
    home = await hub.enrol()
    other = await hub.enrol()
    assert (await home.client.home())["revoked"] is False

    assert await hub.store.revoke_home(home.home_id, hub.now_ms())

    with pytest.raises(HubError) as refusal:
        await home.client.home()
    assert refusal.value.status == 403
    # revoke_home also revokes every key, so the key check answers first
    assert refusal.value.reason in {"home_revoked", "revoked_key"}
    assert (await other.client.home())["home_id"] == other.home_id  # others unaffected


async def test_revoked_home_key_is_403_revoked_key(hub: Hub) -> None:
    home = await hub.enrol()
    assert await hub.store.revoke_key(home.key.key_id, hub.now_ms())
    reply = await hub.signed(home.key, "GET", HOME)
    assert refused(reply, 403, "revoked_key")


async def test_forged_request_does_not_consume_the_clients_next_sequence(hub: Hub) -> None:
    home = await hub.enrol()
    headers = hub.signed_headers(home.key, "GET", HOME, seq=FAR_AHEAD_SEQ)
    headers[HEADER_SIGNATURE] = SigningKey.generate().sign(b"anything")

    assert refused(await hub.raw("GET", HOME, headers=headers), 401, "bad_signature")
    assert (await home.client.home())["home_id"] == home.home_id


async def test_stale_request_does_not_consume_the_clients_next_sequence(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    stale = await hub.signed(home.key, "GET", HOME, seq=FAR_AHEAD_SEQ, ts_ms=clock.ms() - 3_600_000)
    assert refused(stale, 401, "timestamp_too_old")
    assert (await home.client.home())["home_id"] == home.home_id


async def test_request_by_another_homes_key_cannot_touch_this_homes_sequence(hub: Hub) -> None:
    home, other = await hub.enrol(), await hub.enrol()
    headers = hub.signed_headers(other.key, "GET", HOME, seq=FAR_AHEAD_SEQ)
    headers[HEADER_KEY_ID] = home.key.key_id  # claims to be `home`, signed by `other`
    assert refused(await hub.raw("GET", HOME, headers=headers), 401, "bad_signature")
    assert (await home.client.home())["home_id"] == home.home_id


async def test_non_integer_sequence_header_is_400_malformed(hub: Hub) -> None:
    home = await hub.enrol()
    headers = hub.signed_headers(home.key, "GET", HOME)
    headers[HEADER_SEQ] = "seven"
    assert refused(await hub.raw("GET", HOME, headers=headers), 400, "malformed")


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/v1/orders"), ("DELETE", "/api/v1/orders/h:o-1")]
)
async def test_order_endpoints_authenticate_before_naming_the_market_mode(
    hub: Hub, method: str, path: str
) -> None:
    """A periodic hub tells only an authenticated home that it takes no orders (issue 16):
    a stranger gets 401 like on every other signed endpoint."""
    unsigned = await hub.raw(method, path, {} if method == "POST" else None)
    assert (unsigned.status, unsigned.body["error"]) == (401, "unauthenticated")
    forged = await hub.signed(SigningKey.generate(), method, path, {})
    assert (forged.status, forged.body["error"]) == (401, "unknown_key")
    home = await hub.enrol()
    signed = await hub.signed(home.key, method, path, {} if method == "POST" else None)
    assert (signed.status, signed.body["error"]) == (409, "wrong_market_mode")


async def test_a_continuous_hub_authenticates_a_bid_before_naming_the_market_mode(
    make_hub: MakeHub,
) -> None:
    """The same for bids on a hub that trades continuously (found by schemathesis there)."""
    hub = await make_hub(HubConfig(network=NetworkSettings(market_mode="continuous")))
    unsigned = await hub.raw("POST", "/api/v1/bids", {})
    assert (unsigned.status, unsigned.body["error"]) == (401, "unauthenticated")
    home = await hub.enrol()
    signed = await hub.signed(home.key, "POST", "/api/v1/bids", {})
    assert (signed.status, signed.body["error"]) == (409, "wrong_market_mode")
