"""Public endpoints: health, hub info and the grid tariff forecast."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest
from gridcoop_home.protocol.bids import BidLimits
from gridcoop_home.protocol.envelope import PROTOCOL_VERSION

import hub as hub_package
from hub.config import HubConfig
from hub.market.tariff import Tariff, TariffPeriod
from hub.server.runtime import CLEARING
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import FakeClock, Hub

# Europe/Berlin: 22 off-peak from midnight, 38 at the evening peak from 17:00, local time.
TOU = Tariff(
    (TariffPeriod(0, 22, 7), TariffPeriod(17 * 60, 38, 7), TariffPeriod(21 * 60, 25, 6)),
    timezone="Europe/Berlin",
)


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


async def test_health_reports_ok_version_and_database(hub: Hub) -> None:
    reply = await hub.raw("GET", "/health")
    assert reply.status == 200
    assert reply.body == {"status": "ok", "version": hub_package.__version__, "database": "sqlite"}


async def test_info_reports_versions_interval_settings_and_current_grid_prices(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    config = HubConfig(
        interval_seconds=600,
        gate_closure_seconds=120,
        fee_per_kwh=2,
        k_percent=40,
        currency="CHF",
        tariff=Tariff.flat(31, 9),
        bid_limits=BidLimits(price_min=-100, price_max=900, max_step_wh=5000, max_steps=8),
    )
    clock.set(utc(2026, 3, 2, 10, 7, 30))  # 10:07:30 -> interval 10:00, gate of 10:10 at 10:08
    hub = await make_hub(config)

    info = await hub.client().info()

    assert info["hub_version"] == hub_package.__version__
    assert info["protocol_version"] == PROTOCOL_VERSION == 1
    assert info["server_time_ms"] == clock.ms()
    assert info["current_interval_start"] == int(utc(2026, 3, 2, 10, 0))
    assert info["next_open_interval_start"] == int(utc(2026, 3, 2, 10, 10))
    assert (info["retail_price"], info["feed_in_price"]) == (31, 9)
    assert info["interval_seconds"] == 600
    assert info["gate_closure_seconds"] == 120
    assert info["bid_horizon_seconds"] == 48 * 3600
    assert (info["fee_per_kwh"], info["k_percent"], info["currency"]) == (2, 40, "CHF")
    assert info["timezone"] == "UTC"
    assert info["bid_limits"] == {
        "price_min": -100,
        "price_max": 900,
        "max_step_wh": 5000,
        "max_steps": 8,
    }


async def test_info_next_open_interval_skips_the_interval_whose_gate_has_closed(
    hub: Hub, clock: FakeClock
) -> None:
    clock.set(utc(2026, 3, 2, 10, 14, 0))  # gate of 10:15 closed at 10:14 sharp
    info = await hub.client().info()
    assert info["current_interval_start"] == int(utc(2026, 3, 2, 10, 0))
    assert info["next_open_interval_start"] == int(utc(2026, 3, 2, 10, 30))


async def test_tariffs_follow_time_of_use_periods_in_local_winter_time(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    clock.set(utc(2026, 1, 15, 15, 20))  # 16:20 in Berlin (UTC+1)
    hub = await make_hub(HubConfig(tariff=TOU))

    answer = await hub.client().tariffs(intervals=24)

    assert answer["currency"] == "EUR"
    slots = answer["tariffs"]
    assert len(slots) == 24
    assert slots[0]["interval_start"] == int(utc(2026, 1, 15, 15, 15))
    starts = [s["interval_start"] for s in slots]
    assert {b - a for a, b in pairwise(starts)} == {900}
    prices = {s["interval_start"]: (s["retail_price"], s["feed_in_price"]) for s in slots}
    assert prices[int(utc(2026, 1, 15, 15, 45))] == (22, 7)  # 16:45 local: off-peak
    assert prices[int(utc(2026, 1, 15, 16, 0))] == (38, 7)  # 17:00 local: peak starts
    assert prices[int(utc(2026, 1, 15, 19, 45))] == (38, 7)  # 20:45 local
    assert prices[int(utc(2026, 1, 15, 20, 0))] == (25, 6)  # 21:00 local: late period


async def test_tariffs_follow_local_summer_time(make_hub: MakeHub, clock: FakeClock) -> None:
    clock.set(utc(2026, 7, 15, 14, 50))  # 16:50 in Berlin (UTC+2)
    hub = await make_hub(HubConfig(tariff=TOU))

    slots = (await hub.client().tariffs(intervals=4))["tariffs"]

    # UTC 15:00 is 17:00 in summer (peak) but would be 16:00 in winter.
    assert [(s["retail_price"], s["feed_in_price"]) for s in slots] == [
        (22, 7),
        (38, 7),
        (38, 7),
        (38, 7),
    ]


async def test_tariffs_wrap_past_midnight_into_the_last_period(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    clock.set(utc(2026, 1, 15, 22, 45))  # 23:45 local, then past local midnight
    hub = await make_hub(HubConfig(tariff=TOU))
    slots = (await hub.client().tariffs(intervals=2))["tariffs"]
    assert [s["retail_price"] for s in slots] == [25, 22]


async def test_info_prices_are_the_tariff_at_the_current_local_time(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    clock.set(utc(2026, 1, 15, 16, 30))  # 17:30 local
    hub = await make_hub(HubConfig(tariff=TOU))
    info = await hub.client().info()
    assert (info["retail_price"], info["feed_in_price"]) == (38, 7)
    assert info["timezone"] == "Europe/Berlin"


async def test_tariffs_count_outside_1_to_400_is_a_400(hub: Hub) -> None:
    for count in ("0", "401", "many"):
        reply = await hub.raw("GET", f"/api/v1/market/tariffs?intervals={count}")
        assert reply.status == 400
        assert reply.body["error"] == "malformed"


async def test_unknown_interval_is_a_404_with_reason_code(hub: Hub) -> None:
    reply = await hub.raw("GET", "/api/v1/market/intervals/900")
    assert reply.status == 404
    assert reply.body["error"] == "not_found"


async def test_intervals_over_any_range_are_the_newest_within_the_limit(
    hub: Hub, clock: FakeClock
) -> None:
    """Any range the document allows is answered (once refused beyond 31 days, which the
    document could not say): `limit` bounds the work, newest first; `from` after `to` is empty."""
    first = hub.config.next_open_interval(clock())
    starts = [first, first + 900, first + 1800]
    for start in starts:
        clock.set(hub.config.gate_closure_of(start) + 1)
        await hub.app[CLEARING].clear(start)
    to = starts[-1]
    reply = await hub.raw("GET", f"/api/v1/market/intervals?from=0&to={to}&limit=2")
    assert reply.status == 200
    assert [i["interval_start"] for i in reply.body["intervals"]] == starts[:0:-1]
    reply = await hub.raw("GET", f"/api/v1/market/intervals?from={to}&to={first}")
    assert (reply.status, reply.body) == (200, {"intervals": []})


@pytest.mark.parametrize(
    "query",
    [
        "limit=3001",
        "limit=1&limit=2",
        "to=%2B5",
        "from=1_000",
        "from=%EF%BC%91",
        "to=1099511627777",
    ],
)
async def test_intervals_query_outside_the_document_is_a_400_naming_the_parameter(
    hub: Hub, query: str
) -> None:
    reply = await hub.raw("GET", f"/api/v1/market/intervals?{query}")
    assert reply.status == 400
    assert reply.body["error"] == "malformed"
    assert query.split("=")[0] in reply.body["detail"]
