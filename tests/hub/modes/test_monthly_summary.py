"""The community's monthly summary balances in every market mode: on a feeder, where the hub
keeps a congestion rent, and in continuous trading, where every trade has its own price."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.config import HubConfig, NetworkSettings
from hub.server.admin import ADMIN_TOKEN_ENV, token_sha256
from tests.hub.modes.conftest import MakeHub
from tests.hub.modes.support import submit_order, with_feeder
from tests.hub.modes.test_continuous import settle
from tests.hub.modes.test_periodic_feeder import noon
from tests.hub.server.support import FakeClock, Hub

TOKEN = "admin-test-token"


@pytest.fixture(autouse=True)
def admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, token_sha256(TOKEN))


async def summary(hub: Hub, interval: int) -> dict[str, Any]:
    month = datetime.fromtimestamp(interval, UTC).strftime("%Y-%m")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    reply = await hub.raw("GET", f"/api/v1/admin/statements/{month}", headers=headers)
    assert reply.status == 200
    return reply.body  # type: ignore[no-any-return]


def assert_balanced(doc: dict[str, Any]) -> dict[str, Any]:
    community = doc["community"]
    assert doc["balanced"] is True
    for column in ("bought_local_wh", "sold_local_wh", "paid_mminor", "received_mminor"):
        assert sum(home[column] for home in doc["homes"]) == community[column], column
    assert community["paid_local_mminor"] == (
        community["received_local_mminor"]
        + community["fees_mminor"]
        + community["congestion_rent_mminor"]
    )
    return community  # type: ignore[no-any-return]


async def test_on_a_feeder_the_congestion_rent_closes_the_balance(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(with_feeder(HubConfig(fee_per_kwh=1)))
    interval, *_homes = await noon(hub, clock)
    cleared = (await hub.raw("GET", f"/api/v1/market/intervals/{interval}")).body
    community = assert_balanced(await summary(hub, interval))
    assert community["congestion_rent_mminor"] == cleared["congestion_rent_mminor"] > 0
    assert community["fees_mminor"] == cleared["fees_mminor"] > 0


async def test_continuous_trades_at_their_own_prices_balance_too(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    config = replace(HubConfig(fee_per_kwh=1), network=NetworkSettings(market_mode="continuous"))
    hub = await make_hub(config, clock=clock)
    seller, buyer = await hub.enrol(), await hub.enrol()
    interval = hub.config.next_open_interval(clock())
    await submit_order(hub, seller, interval, "sell", 10, 333, "a", "battery")
    await submit_order(hub, seller, interval, "sell", 13, 1001, "b", "battery")
    await submit_order(hub, buyer, interval, "buy", 20, 777, "c", "battery")
    await submit_order(hub, buyer, interval, "buy", 35, 999, "d", "ev")
    cleared = await settle(hub, clock, interval)
    community = assert_balanced(await summary(hub, interval))
    assert community["bought_local_wh"] == cleared["volume_wh"] > 0
    assert community["congestion_rent_mminor"] == 0
    assert community["paid_mminor"] % 1000  # not whole cents, balanced all the same
