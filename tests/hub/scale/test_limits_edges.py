"""Limits at their edges: whose address a request is charged to behind a proxy, how long
Retry-After tells a client to wait, and the long-lived routes the handler timeout leaves alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.config import HubConfig, LimitSettings
from hub.ledger.service.settings import LedgerSettings
from hub.server import app as app_module
from hub.server import routes_ledger
from hub.server.limits import Limits, TokenBuckets, rate_limited
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import Hub

GENEROUS = {"key_per_second": 100.0, "key_burst": 100, "ip_per_second": 100.0, "ip_burst": 100}


class Monotonic:
    """The limits' clock, moved only by the test (so waits are exact)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    clock = Monotonic()
    monkeypatch.setattr(app_module, "Limits", lambda settings: Limits(settings, clock))
    return clock


def limited(**settings: Any) -> HubConfig:
    return HubConfig(limits=LimitSettings(enabled=True, **{**GENEROUS, **settings}))


async def get_info(hub: Hub, forwarded_for: str) -> int:
    return (await hub.raw("GET", "/api/v1/info", headers={"X-Forwarded-For": forwarded_for})).status


# -- the client's address behind a proxy ------------------------------------------------------


async def test_the_client_address_is_the_last_forwarded_for_hop_the_proxy_added(
    make_hub: MakeHub, monotonic: Monotonic
) -> None:
    hub = await make_hub(limited(ip_burst=1, ip_per_second=0.01, trust_forwarded_for=True))
    # Whatever a client writes before the proxy's hop is its own say: same last hop, same bucket.
    assert await get_info(hub, "198.51.100.1, 203.0.113.5") == 200
    assert await get_info(hub, "198.51.100.2, 203.0.113.5") == 429
    assert await get_info(hub, "198.51.100.1,203.0.113.5, 203.0.113.5") == 429
    # Another last hop is another client, however the header starts.
    assert await get_info(hub, "203.0.113.5, 198.51.100.7") == 200


async def test_without_trust_the_forwarded_for_header_is_ignored(
    make_hub: MakeHub, monotonic: Monotonic
) -> None:
    hub = await make_hub(limited(ip_burst=1, ip_per_second=0.01))
    assert await get_info(hub, "198.51.100.1") == 200
    assert await get_info(hub, "198.51.100.2") == 429, "one address: the connection's own"


# -- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "header"), [(0.001, "1"), (1.0, "1"), (1.2, "2"), (2.5, "3"), (59.01, "60")]
)
def test_retry_after_is_the_wait_rounded_up_to_whole_seconds(wait: float, header: str) -> None:
    assert rate_limited(wait, "too many").headers["Retry-After"] == header


def test_a_bucket_says_exactly_when_its_next_token_is_back() -> None:
    clock = Monotonic()
    buckets = TokenBuckets(rate=0.4, burst=1, clock=clock)
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(2.5)
    clock.now += 1.0
    assert buckets.take("a") == pytest.approx(1.5)
    assert buckets.take("b") == 0.0, "each name has its own bucket"


async def test_an_ip_told_to_retry_after_n_seconds_is_served_after_n_and_not_before(
    make_hub: MakeHub, monotonic: Monotonic
) -> None:
    hub = await make_hub(limited(ip_burst=1, ip_per_second=0.4))
    assert (await hub.raw("GET", "/api/v1/info")).status == 200
    async with hub.session.get(hub.url + "/api/v1/info") as refused:
        assert refused.status == 429
        retry_after = int(refused.headers["Retry-After"])
    assert retry_after == 3  # 2.5 s until the next token, rounded up
    monotonic.now += retry_after - 1
    assert (await hub.raw("GET", "/api/v1/info")).status == 429, "a second early is too early"
    monotonic.now += 1
    assert (await hub.raw("GET", "/api/v1/info")).status == 200


async def test_a_home_keys_retry_after_is_its_own_buckets_wait(
    make_hub: MakeHub, monotonic: Monotonic
) -> None:
    hub = await make_hub(limited(key_burst=1, key_per_second=0.3, ip_per_second=100.0))
    busy, quiet = await hub.enrol(), await hub.enrol()
    assert (await hub.signed(busy.key, "GET", "/api/v1/home")).status == 200
    headers = hub.signed_headers(busy.key, "GET", "/api/v1/home")
    async with hub.session.get(hub.url + "/api/v1/home", headers=headers) as refused:
        assert refused.status == 429
        assert (await refused.json())["detail"].startswith("too many requests for this home key")
        assert refused.headers["Retry-After"] == "4"  # 3.33 s at 0.3 tokens a second
    assert (await hub.signed(quiet.key, "GET", "/api/v1/home")).status == 200
    monotonic.now += 3
    assert (await hub.signed(busy.key, "GET", "/api/v1/home")).status == 429
    monotonic.now += 1
    assert (await hub.signed(busy.key, "GET", "/api/v1/home")).status == 200


# -- the handler timeout's exemptions -----------------------------------------------------------

TIMEOUT = 0.2


async def test_a_public_websocket_outlives_the_handler_timeout(make_hub: MakeHub) -> None:
    hub = await make_hub(limited(handler_timeout_seconds=TIMEOUT))
    async with hub.session.ws_connect(hub.url + "/api/v1/ws") as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=4 * TIMEOUT)  # nothing arrives, not even a close
        assert not ws.closed


async def test_a_homes_websocket_outlives_the_handler_timeout(make_hub: MakeHub) -> None:
    hub = await make_hub(limited(handler_timeout_seconds=TIMEOUT))
    home = await hub.enrol()
    async with home.client.stream() as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=4 * TIMEOUT)
        assert not ws.closed


async def test_a_slow_ledger_export_is_streamed_to_its_end(
    make_hub: MakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = HubConfig(
        limits=LimitSettings(enabled=True, handler_timeout_seconds=TIMEOUT),
        ledger=LedgerSettings(enabled=True, key_file=str(tmp_path / "hub-ledger.key")),
    )
    hub = await make_hub(config)
    ledger = hub.app[routes_ledger.LEDGER_STORE]
    chain = ledger.iter_chain

    async def slow_chain(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for item in chain(*args, **kwargs):
            await asyncio.sleep(4 * TIMEOUT)  # a big chain on a slow disk
            yield item

    monkeypatch.setattr(ledger, "iter_chain", slow_chain)
    cut_off = aiohttp.ClientTimeout(total=10)  # a cut stream would leave the read waiting
    async with hub.session.get(hub.url + "/api/v1/ledger/export", timeout=cut_off) as response:
        assert response.status == 200
        lines = (await response.read()).splitlines()
    assert lines[0].startswith(b'{"format"')
    assert len(lines) > 1, "the blocks after the format line arrived"
