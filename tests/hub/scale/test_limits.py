"""Limits: rate limits per home key and per client IP, a handler timeout, a WebSocket cap per
key and the body size cap, each refused with its stable reason code."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from gridcoop_home.client.hub import HubError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.requests import HEADER_KEY_ID

from hub.config import ConfigError, HubConfig, LimitSettings, load_config
from hub.server.context import STORE
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import Hub, encode

GENEROUS = {"key_per_second": 100.0, "key_burst": 100, "ip_per_second": 100.0, "ip_burst": 100}


def limited(**settings: Any) -> HubConfig:
    return HubConfig(limits=LimitSettings(enabled=True, **{**GENEROUS, **settings}))


async def test_unsigned_requests_beyond_the_ip_burst_get_429_with_retry_after(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(limited(ip_burst=3, ip_per_second=0.01))
    statuses = [(await hub.raw("GET", "/api/v1/info")).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    async with hub.session.get(hub.url + "/api/v1/info") as response:
        assert response.status == 429
        assert (await response.json())["error"] == "rate_limited"
        assert 1 <= int(response.headers["Retry-After"]) <= 100


async def test_each_home_key_has_its_own_bucket(make_hub: MakeHub) -> None:
    hub = await make_hub(limited(key_burst=2, key_per_second=0.01))
    busy, quiet = await hub.enrol(), await hub.enrol()
    assert [(await hub.signed(busy.key, "GET", "/api/v1/home")).status for _ in range(3)] == [
        200,
        200,
        429,
    ]
    refused = await hub.signed(busy.key, "GET", "/api/v1/home")
    assert refused.body["error"] == "rate_limited"
    assert (await hub.signed(quiet.key, "GET", "/api/v1/home")).status == 200
    assert (await hub.raw("GET", "/api/v1/info")).status == 200, "unsigned: the IP's bucket"


async def test_forging_a_homes_key_id_uses_up_the_forgers_address_not_the_home(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(
        limited(
            key_burst=3,
            ip_burst=3,
            ip_per_second=0.01,
            key_per_second=0.01,
            trust_forwarded_for=True,
        )
    )
    home = await hub.enrol()
    forger_key = SigningKey.generate()
    forged = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(5):
        headers = hub.signed_headers(forger_key, "GET", "/api/v1/home")
        headers[HEADER_KEY_ID] = home.key.key_id  # the victim's key id, the forger's signature
        reply = await hub.raw("GET", "/api/v1/home", headers={**headers, **forged})
        assert reply.status in (401, 429)
    assert reply.body["error"] == "rate_limited"
    # The home, from its own address, still has its whole allowance.
    statuses = [(await hub.signed(home.key, "GET", "/api/v1/home")).status for _ in range(3)]
    assert statuses == [200, 200, 200]


async def test_a_replayed_upload_is_charged_to_its_sender_a_refused_authentic_one_to_the_key(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(
        limited(key_burst=3, key_per_second=0.01, ip_burst=2, trust_forwarded_for=True)
    )
    home = await hub.enrol()
    path, body = "/api/v1/readings", encode({"readings": []})  # malformed: 400 once authentic
    captured = hub.signed_headers(home.key, "POST", path, body)
    replayer = {**captured, "X-Forwarded-For": "203.0.113.7"}

    answers = [(await hub.raw("POST", path, body, replayer)).status for _ in range(4)]

    assert answers == [400, 409, 409, 429]  # the first spent a key token, the replays the IP's
    fresh = [(await hub.signed(home.key, "POST", path, body)).status for _ in range(3)]
    assert fresh == [400, 400, 429]  # two tokens left of the key's three


async def test_a_handler_that_runs_too_long_is_answered_503_timeout(
    make_hub: MakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = await make_hub(limited(handler_timeout_seconds=0.2))

    async def stuck(*_args: Any) -> list[Any]:
        await asyncio.sleep(5)
        return []

    monkeypatch.setattr(hub.app[STORE], "list_intervals", stuck)
    reply = await hub.raw("GET", "/api/v1/market/intervals")
    assert reply.status == 503
    assert reply.body["error"] == "timeout"
    assert (await hub.raw("GET", "/api/v1/info")).status == 200


async def test_a_home_key_may_hold_only_so_many_websockets(make_hub: MakeHub) -> None:
    hub = await make_hub(limited(websockets_per_key=1))
    home = await hub.enrol()
    async with home.client.stream() as first:
        assert (await first.receive_json(timeout=5))["type"] == "hello"
        with pytest.raises(HubError) as refused:
            async with home.client.stream():
                pass
        assert refused.value.status == 429
        headers = hub.signed_headers(home.key, "GET", "/api/v1/ws")
        reply = await hub.raw("GET", "/api/v1/ws", headers=headers)
        assert reply.body["error"] == "too_many_websockets"
    await asyncio.sleep(0.1)  # the server notices the close
    async with home.client.stream() as again:
        assert (await again.receive_json(timeout=5))["type"] == "hello"


async def test_a_body_over_2_mib_is_refused_413_content_too_large(hub: Hub) -> None:
    home = await hub.enrol()
    reply = await hub.signed(home.key, "POST", "/api/v1/readings", b"x" * (2 * 1024 * 1024 + 1))
    assert reply.status == 413
    assert reply.body["error"] == "content_too_large"


def test_limits_come_from_hub_toml_and_serve_turns_them_on(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text("[limits]\nkey_per_second = 5\nkey_burst = 10\nwebsockets_per_key = 2\n")
    config = load_config(path, limits_by_default=True)
    assert config.limits == LimitSettings(
        enabled=True, key_per_second=5, key_burst=10, websockets_per_key=2
    )
    assert not load_config(path).limits.enabled, "off for library use unless serve asks"
    path.write_text("[limits]\nenabled = false\n")
    assert not load_config(path, limits_by_default=True).limits.enabled


@pytest.mark.parametrize(
    "line",
    ["key_burst = 0", "ip_per_second = -1", "websockets_per_key = 1.5", "whatever = 1"],
)
def test_a_wrong_limit_stops_the_hub_naming_it(tmp_path: Path, line: str) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(f"[limits]\n{line}\n")
    with pytest.raises(ConfigError, match=line.split(" ")[0]):
        load_config(path)
