"""OpenAPI paths of the dashboard: the page, its assets and the public JSON it draws from
(aggregates only, never a single home's readings or bids), and the aggregated order book."""

from __future__ import annotations

from typing import Any

from hub.server.openapi.common import (
    INTERVAL_PATH,
    closed_object,
    int_schema,
    json_answer,
    number_schema,
    path_param,
    refusals,
)
from hub.service.settings import MARKET_MODES

INTERVAL_VIEW = closed_object(
    {
        "interval_start": int_schema("UTC seconds"),
        "interval_end": int_schema("UTC seconds"),
        "gate_closure": int_schema("UTC seconds; bids close, then the interval clears"),
        "cleared": {"type": "boolean"},
        "price": int_schema("local price, minor/kWh; null = not cleared or no local trade", True),
        "volume_wh": int_schema("Wh traded locally; null = not cleared", True),
        "participants": int_schema("homes that bid; null = not cleared", True),
        "retail_price": int_schema("grid import price that applies, minor/kWh"),
        "feed_in_price": int_schema("grid export price that applies, minor/kWh"),
    }
)

TOTALS = closed_object(
    {
        "from": int_schema("first interval start counted, UTC seconds"),
        "intervals": int_schema("cleared intervals"),
        "trading_intervals": int_schema("intervals with local trade"),
        "volume_wh": int_schema("Wh traded locally"),
        "buyers_saved_mminor": int_schema("sum of (retail - price - fee) x Wh bought locally"),
        "sellers_earned_mminor": int_schema("sum of (price - fee - feed-in) x Wh sold locally"),
        "fees_mminor": int_schema("fees collected"),
        "savings_mminor": int_schema("buyers saved + sellers earned, milli-minor units"),
    }
)

OVERVIEW = closed_object(
    {
        "server_time_ms": int_schema("UTC ms"),
        "currency": {"type": "string"},
        "timezone": {"type": "string", "description": "the tariff's time zone; 'today' is there"},
        "market_mode": {"enum": list(MARKET_MODES)},
        "interval_seconds": int_schema(),
        "gate_closure_seconds": int_schema(),
        "fee_per_kwh": int_schema(),
        "k_percent": int_schema(),
        "homes": closed_object(
            {
                "enrolled": int_schema("homes enrolled and not revoked"),
                "online": int_schema("of these, homes that sent a reading or bid recently"),
                "online_window_seconds": int_schema("'recently'"),
            }
        ),
        "current": INTERVAL_VIEW,
        "next": INTERVAL_VIEW,
        "today": TOTALS,
        "last_30_days": TOTALS,
    }
)

HISTORY_POINT = closed_object(
    {
        "start": int_schema("bucket start, UTC seconds"),
        "intervals": int_schema("cleared intervals in the bucket"),
        "trading_intervals": int_schema("of these, with local trade"),
        "price": number_schema("volume-weighted local price; exact for one interval", True),
        "price_min": int_schema(nullable=True),
        "price_max": int_schema(nullable=True),
        "volume_wh": int_schema("Wh traded locally"),
        "retail_price": number_schema("mean grid import price"),
        "feed_in_price": number_schema("mean grid export price"),
    }
)

HISTORY = closed_object(
    {
        "range": {"enum": ["24h", "7d", "30d"]},
        "from": int_schema("UTC seconds"),
        "to": int_schema("UTC seconds"),
        "interval_seconds": int_schema(),
        "bucket_seconds": int_schema(
            "interval_seconds, or a multiple when there are many intervals"
        ),
        "currency": {"type": "string"},
        "points": {"type": "array", "items": HISTORY_POINT},
    }
)

LEVEL = closed_object(
    {
        "price": int_schema("effective price, minor/kWh"),
        "energy_wh": int_schema("energy of all steps at this price"),
        "cumulative_wh": int_schema("energy at this price or better"),
    }
)

ORDER_BOOK = closed_object(
    {
        "interval_start": int_schema("UTC seconds"),
        "interval_end": int_schema("UTC seconds"),
        "market_mode": {"enum": list(MARKET_MODES)},
        "price_basis": {
            "const": "effective",
            "description": "buy: min(price, retail) - fee; sell: max(price, feed-in) + fee",
        },
        "participants": int_schema("homes that bid"),
        "retail_price": int_schema(),
        "feed_in_price": int_schema(),
        "fee_per_kwh": int_schema(),
        "k_percent": int_schema(),
        "demand": {"type": "array", "items": LEVEL, "description": "highest price first"},
        "supply": {"type": "array", "items": LEVEL, "description": "lowest price first"},
        "clearing": closed_object(
            {
                "price": int_schema(nullable=True),
                "price_low": int_schema(nullable=True),
                "price_high": int_schema(nullable=True),
                "volume_wh": int_schema(),
            }
        ),
        "grid": closed_object({"import_wh": int_schema(), "export_wh": int_schema()}),
    }
)

DASHBOARD_PATHS: dict[str, Any] = {
    "/": {
        "get": {
            "summary": "The dashboard (HTML page)",
            "responses": {
                "200": {
                    "description": "the page",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/dashboard/{asset}": {
        "get": {
            "summary": "The dashboard's scripts, styles, images and translations",
            "parameters": [path_param("asset", "file below the dashboard's static folder")],
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {
                        "text/javascript": {"schema": {"type": "string"}},
                        "text/css": {"schema": {"type": "string"}},
                        "image/svg+xml": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object"}},
                    },
                },
                **refusals(404),
            },
        }
    },
    "/api/v1/dashboard/overview": {
        "get": {
            "summary": "Homes, current and next local price against the grid, traded volume and "
            "the neighbourhood's savings",
            "responses": {"200": json_answer(OVERVIEW)},
        }
    },
    "/api/v1/dashboard/history": {
        "get": {
            "summary": "Local price, volume and grid tariffs over a range, for charts",
            "parameters": [
                {
                    "name": "range",
                    "in": "query",
                    "required": False,
                    "schema": {"enum": ["24h", "7d", "30d"]},
                    "description": "default 24h",
                }
            ],
            "responses": {"200": json_answer(HISTORY), **refusals(400)},
        }
    },
    "/api/v1/market/orderbook": {
        "get": {
            "summary": "Aggregated order book of the most recently cleared interval",
            "description": "Demand and supply curves merged over all homes; bids of intervals "
            "whose gate is still open are never shown.",
            "responses": {"200": json_answer(ORDER_BOOK), **refusals(404)},
        }
    },
    "/api/v1/market/orderbook/{interval_start}": {
        "get": {
            "summary": "Aggregated order book of one cleared interval",
            "parameters": [INTERVAL_PATH],
            "responses": {"200": json_answer(ORDER_BOOK), **refusals(400, 404)},
        }
    },
}
