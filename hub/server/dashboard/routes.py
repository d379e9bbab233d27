"""The dashboard page, its static assets and the public JSON it draws from.

Everything here is public market data: aggregates only, never a single home's readings or bids.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError

from hub.config import HubConfig
from hub.server.context import CLOCK, CONFIG, STORE
from hub.server.params import interval_path_param
from hub.service import dashboard_queries as queries
from hub.service.orderbook import order_book
from hub.service.settings import market_mode
from hub.store.records import IntervalRecord

routes = web.RouteTableDef()

STATIC_DIR = Path(__file__).parent / "static"
RANGES = {"24h": 24 * 3600, "7d": 7 * 24 * 3600, "30d": 30 * 24 * 3600}
MAX_POINTS = 400  # history points per chart; more intervals than this are grouped
SAVINGS_DAYS = 30
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def online_window_seconds(config: HubConfig) -> int:
    """A home counts as online when it uploaded a reading or bid within this window."""
    return max(300, 2 * config.interval_seconds)


def local_midnight(config: HubConfig, now: float) -> int:
    """Start of today in the hub's time zone (that of the tariff), UTC seconds."""
    local = datetime.fromtimestamp(now, ZoneInfo(config.tariff.timezone))
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


# -- page and assets ------------------------------------------------------------------------------


@routes.get("/")
async def page(request: web.Request) -> web.StreamResponse:
    return _file(STATIC_DIR / "index.html")


@routes.get(r"/dashboard/{asset:[A-Za-z0-9_\-/.]+}")
async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["asset"]
    path = (STATIC_DIR / name).resolve()
    if (
        ".." in name.split("/")
        or not path.is_relative_to(STATIC_DIR.resolve())
        or not path.is_file()
        or path.suffix not in CONTENT_TYPES
    ):
        raise web.HTTPNotFound(text=f"no dashboard asset {name!r}")
    return _file(path)


def _file(path: Path) -> web.FileResponse:
    headers = {**PAGE_HEADERS, "Content-Type": CONTENT_TYPES[path.suffix]}
    return web.FileResponse(path, headers=headers)


# -- overview -------------------------------------------------------------------------------------


def _interval_view(config: HubConfig, start: int, record: IntervalRecord | None) -> dict[str, Any]:
    prices = config.tariff.prices_at(start)
    return {
        "interval_start": start,
        "interval_end": start + config.interval_seconds,
        "gate_closure": config.gate_closure_of(start),
        "cleared": record is not None,
        "price": record.price if record else None,
        "volume_wh": record.volume_wh if record else None,
        "participants": record.participants if record else None,
        # the tariff that applied when it cleared, or the one that will apply
        "retail_price": record.retail_price if record else prices.retail_price,
        "feed_in_price": record.feed_in_price if record else prices.feed_in_price,
    }


@routes.get("/api/v1/dashboard/overview")
async def overview(request: web.Request) -> web.Response:
    config, store = request.app[CONFIG], request.app[STORE]
    now = request.app[CLOCK]()
    current = config.interval_start_of(int(now))
    upcoming = current + config.interval_seconds
    window = online_window_seconds(config)
    midnight = local_midnight(config, now)
    month_from = int(now) - SAVINGS_DAYS * 24 * 3600
    enrolled, seen, current_rec, next_rec, today, month = await asyncio.gather(
        queries.count_homes(store),
        queries.last_seen(store, int((now - window) * 1000)),
        store.get_interval(current),
        store.get_interval(upcoming),
        queries.totals(store, midnight, int(now)),
        queries.totals(store, month_from, int(now)),
    )
    return web.json_response(
        {
            "server_time_ms": int(now * 1000),
            "currency": config.currency,
            "timezone": config.tariff.timezone,
            "market_mode": market_mode(config),
            "interval_seconds": config.interval_seconds,
            "gate_closure_seconds": config.gate_closure_seconds,
            "fee_per_kwh": config.fee_per_kwh,
            "k_percent": config.k_percent,
            "homes": {"enrolled": enrolled, "online": len(seen), "online_window_seconds": window},
            "current": _interval_view(config, current, current_rec),
            "next": _interval_view(config, upcoming, next_rec),
            "today": {"from": midnight, **today.to_wire()},
            "last_30_days": {"from": month_from, **month.to_wire()},
        }
    )


# -- history --------------------------------------------------------------------------------------


@routes.get("/api/v1/dashboard/history")
async def history(request: web.Request) -> web.Response:
    """Local price, volume and grid tariffs over 24 h, 7 or 30 days: one point per interval, or
    per group of intervals when there are more than MAX_POINTS of them."""
    config, store = request.app[CONFIG], request.app[STORE]
    name = request.query.get("range", "24h")
    if name not in RANGES:
        raise ProtocolError(MALFORMED, f"range must be one of {', '.join(RANGES)}")
    now = int(request.app[CLOCK]())
    # Intervals clear at their gate closure, before they start: include those already cleared.
    start_to = now + 4 * config.interval_seconds
    start_from = now - RANGES[name]
    count = await queries.count_intervals(store, start_from, start_to)
    bucket = config.interval_seconds * max(1, math.ceil(count / MAX_POINTS))
    points = await queries.history(store, start_from, start_to, bucket)
    return web.json_response(
        {
            "range": name,
            "from": start_from,
            "to": start_to,
            "interval_seconds": config.interval_seconds,
            "bucket_seconds": bucket,
            "currency": config.currency,
            "points": [point.to_wire() for point in points],
        }
    )


# -- order book -----------------------------------------------------------------------------------


@routes.get("/api/v1/market/orderbook")
async def latest_order_book(request: web.Request) -> web.Response:
    """The order book of the most recently cleared interval. Open intervals are never shown:
    bids stay sealed until their gate closes."""
    record = await request.app[STORE].latest_interval()
    if record is None:
        raise web.HTTPNotFound(text="no interval has been cleared yet")
    return await _order_book_response(request, record)


@routes.get("/api/v1/market/orderbook/{interval_start}")
async def interval_order_book(request: web.Request) -> web.Response:
    record = await request.app[STORE].get_interval(interval_path_param(request))
    if record is None:
        raise web.HTTPNotFound(text="this interval has not been cleared")
    return await _order_book_response(request, record)


async def _order_book_response(request: web.Request, record: IntervalRecord) -> web.Response:
    bodies = await queries.cleared_bid_bodies(request.app[STORE], record.interval_start)
    return web.json_response(order_book(record, bodies, market_mode(request.app[CONFIG])))
