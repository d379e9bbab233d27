"""The dashboard page, its assets and the public JSON: overview, history, order book."""

from __future__ import annotations

import json

import pytest
from yarl import URL

from hub.config import HubConfig
from hub.market.tariff import Tariff
from hub.server.dashboard import routes
from tests.hub.dashboard.conftest import MakeHub
from tests.hub.dashboard.support import DashHub, Home, curves

# docs/market.md, worked example: R = 30, F = 8, fee = 1, k = 50; it clears 2500 Wh at 23.
EXAMPLE = HubConfig(fee_per_kwh=1, k_percent=50, tariff=Tariff.flat(30, 8))


async def trade_worked_example(hub: DashHub) -> tuple[int, dict[str, Home]]:
    homes = {name: await hub.enrol(name) for name in "abcde"}
    interval = hub.next_interval()
    bids = {
        "a": curves(buy=[(35, 2000)]),
        "b": curves(buy=[(24, 1000)]),
        "e": curves(buy=[(24, 2000)]),
        "c": curves(sell=[(6, 1500)]),
        "d": curves(sell=[(20, 1000)]),
    }
    for name, bid in bids.items():
        await homes[name].client.submit_bid(interval, bid)
    record = await hub.clear(interval)
    assert (record.price, record.volume_wh) == (23, 2500)
    return interval, homes


# -- page and assets ------------------------------------------------------------------------------


async def test_page_is_served_at_the_root_with_a_strict_content_policy(hub: DashHub) -> None:
    reply = await hub.request("GET", "/")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert '<main id="main"' in reply.body
    assert '<script type="module" src="/dashboard/js/main.js">' in reply.body


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/dashboard/js/main.js", "text/javascript"),
        ("/dashboard/css/dashboard.css", "text/css"),
        ("/dashboard/icon.svg", "image/svg+xml"),
        ("/dashboard/i18n/ru.json", "application/json"),
    ],
)
async def test_assets_are_served_with_their_type(
    hub: DashHub, path: str, content_type: str
) -> None:
    reply = await hub.request("GET", path)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith(content_type)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/nope.js",
        "/dashboard/js",  # a folder
        "/dashboard/js/..%2F..%2Froutes.py",  # out of the static folder
        "/dashboard/..%2F..%2F..%2Fconfig.py",
    ],
)
async def test_nothing_outside_the_static_assets_is_served(hub: DashHub, path: str) -> None:
    async with hub.session.get(URL(hub.url + path, encoded=True)) as response:
        assert response.status == 404
        assert (await response.json())["error"] == "not_found"


# -- overview -------------------------------------------------------------------------------------


async def test_overview_of_an_empty_hub(hub: DashHub) -> None:
    reply = await hub.request("GET", "/api/v1/dashboard/overview")
    assert reply.status == 200
    body = reply.body
    assert body["market_mode"] == "periodic_uniform_price"
    assert body["homes"] == {"enrolled": 0, "online": 0, "online_window_seconds": 1800}
    assert body["current"]["cleared"] is False
    assert body["current"]["price"] is None
    assert (body["current"]["retail_price"], body["current"]["feed_in_price"]) == (30, 8)
    assert body["today"]["volume_wh"] == 0
    assert body["today"]["savings_mminor"] == 0


async def test_overview_prices_volume_and_savings_after_a_trade(make_hub: MakeHub) -> None:
    hub = await make_hub(EXAMPLE)
    interval, homes = await trade_worked_example(hub)
    hub.clock.set(interval + 10)  # inside the interval: it is the current one

    body = (await hub.request("GET", "/api/v1/dashboard/overview")).body
    assert body["homes"]["enrolled"] == 5
    assert body["homes"]["online"] == 5  # every home bid a moment ago
    current = body["current"]
    assert current["interval_start"] == interval
    assert (current["cleared"], current["price"], current["volume_wh"]) == (True, 23, 2500)
    assert current["participants"] == 5
    assert body["next"]["cleared"] is False
    assert body["next"]["gate_closure"] == interval + 900 - 60
    # buyers save (30 - 23 - 1) per kWh, sellers earn (23 - 1 - 8): milli-minor = c/kWh x Wh
    today = body["today"]
    assert today["volume_wh"] == 2500
    assert today["buyers_saved_mminor"] == 6 * 2500
    assert today["sellers_earned_mminor"] == 14 * 2500
    assert today["savings_mminor"] == 20 * 2500
    assert today["fees_mminor"] == 2 * 1 * 2500
    assert (today["intervals"], today["trading_intervals"]) == (1, 1)
    assert body["last_30_days"]["savings_mminor"] == 20 * 2500

    await hub.store.revoke_home(homes["a"].home_id, hub.now_ms())
    body = (await hub.request("GET", "/api/v1/dashboard/overview")).body
    assert (body["homes"]["enrolled"], body["homes"]["online"]) == (4, 4)


async def test_online_means_a_reading_or_bid_within_the_window(hub: DashHub) -> None:
    talker = await hub.enrol("Talker")
    await hub.enrol("Quiet")
    await talker.client.upload_readings([talker.meters[0].reading(100, 0)])
    body = (await hub.request("GET", "/api/v1/dashboard/overview")).body
    assert body["homes"] == {"enrolled": 2, "online": 1, "online_window_seconds": 1800}
    hub.clock.advance(1801)
    body = (await hub.request("GET", "/api/v1/dashboard/overview")).body
    assert body["homes"]["online"] == 0


# -- history --------------------------------------------------------------------------------------


async def test_history_has_one_point_per_cleared_interval(make_hub: MakeHub) -> None:
    hub = await make_hub(EXAMPLE)
    first, _ = await trade_worked_example(hub)
    await hub.clear(first + 900)  # nobody bid: no local trade, price null
    reply = await hub.request("GET", "/api/v1/dashboard/history?range=24h")
    assert reply.status == 200
    assert reply.body["bucket_seconds"] == 900
    points = reply.body["points"]
    intervals = (await hub.request("GET", "/api/v1/market/intervals")).body["intervals"]
    assert [p["start"] for p in points] == sorted(i["interval_start"] for i in intervals)
    assert [(p["price"], p["volume_wh"]) for p in points] == [(23, 2500), (None, 0)]
    assert points[0]["retail_price"] == 30 and points[0]["feed_in_price"] == 8


async def test_history_groups_intervals_when_there_are_too_many(
    make_hub: MakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "MAX_POINTS", 1)
    hub = await make_hub(EXAMPLE)
    first, _ = await trade_worked_example(hub)
    await hub.clear(first + 900)
    body = (await hub.request("GET", "/api/v1/dashboard/history")).body
    assert body["bucket_seconds"] == 1800
    assert sum(p["intervals"] for p in body["points"]) == 2
    assert sum(p["volume_wh"] for p in body["points"]) == 2500


async def test_history_refuses_an_unknown_range(hub: DashHub) -> None:
    reply = await hub.request("GET", "/api/v1/dashboard/history?range=1y")
    assert reply.status == 400
    assert reply.body["error"] == "malformed"


# -- order book -----------------------------------------------------------------------------------


async def test_order_book_aggregates_the_worked_example(make_hub: MakeHub) -> None:
    hub = await make_hub(EXAMPLE)
    interval, homes = await trade_worked_example(hub)

    reply = await hub.request("GET", "/api/v1/market/orderbook")
    assert reply.status == 200
    book = reply.body
    assert book["interval_start"] == interval
    assert book["participants"] == 5
    # effective prices: buy min(price, 30) - 1, sell max(price, 8) + 1
    assert book["demand"] == [
        {"price": 29, "energy_wh": 2000, "cumulative_wh": 2000},
        {"price": 23, "energy_wh": 3000, "cumulative_wh": 5000},
    ]
    assert book["supply"] == [
        {"price": 9, "energy_wh": 1500, "cumulative_wh": 1500},
        {"price": 21, "energy_wh": 1000, "cumulative_wh": 2500},
    ]
    assert book["clearing"] == {"price": 23, "price_low": 23, "price_high": 23, "volume_wh": 2500}
    assert (book["retail_price"], book["feed_in_price"], book["fee_per_kwh"]) == (30, 8, 1)
    assert book["grid"] == {"import_wh": 0, "export_wh": 0}  # every step filled locally
    text = json.dumps(book)
    assert not any(home.home_id in text for home in homes.values()), "aggregates only"
    assert (await hub.request("GET", f"/api/v1/market/orderbook/{interval}")).body == book


async def test_order_book_keeps_the_bids_it_was_cleared_with(make_hub: MakeHub) -> None:
    hub = await make_hub(EXAMPLE)
    interval, homes = await trade_worked_example(hub)
    before = (await hub.request("GET", f"/api/v1/market/orderbook/{interval}")).body
    await hub.store.revoke_home(homes["a"].home_id, hub.now_ms())
    after = (await hub.request("GET", f"/api/v1/market/orderbook/{interval}")).body
    assert after == before


async def test_open_intervals_stay_sealed(hub: DashHub) -> None:
    assert (await hub.request("GET", "/api/v1/market/orderbook")).status == 404
    home = await hub.enrol()
    interval = hub.next_interval()
    await home.client.submit_bid(interval, curves(buy=[(20, 500)]))
    reply = await hub.request("GET", f"/api/v1/market/orderbook/{interval}")
    assert reply.status == 404
    assert reply.body["error"] == "not_found"
    assert (await hub.request("GET", "/api/v1/market/orderbook/soon")).status == 400
