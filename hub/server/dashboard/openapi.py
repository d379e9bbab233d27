"""OpenAPI 3.1 fragments for the dashboard's public JSON and the admin API.

hub.server.openapi merges them into the served document:
`PATHS.update(DASHBOARD_PATHS); PATHS.update(ADMIN_PATHS)` and the `adminToken` security scheme.
Error bodies refer to the document's `Error` component, intervals to `IntervalResult`.
"""

from __future__ import annotations

from typing import Any

from hub.service.settings import MARKET_MODES

Schema = dict[str, Any]

ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]
ADMIN_SECURITY_SCHEMES: dict[str, Any] = {
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "The operator's admin token (`gridcoop-hub admin-token`); the hub keeps only its "
            "SHA-256 (config `admin_token_sha256` or env GRIDCOOP_ADMIN_TOKEN_SHA256)"
        ),
    }
}


def _json(schema: Schema, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    return {str(status): _json(error, "refused, with a reason code") for status in statuses}


def _int(description: str = "", nullable: bool = False) -> Schema:
    schema: Schema = {"type": ["integer", "null"] if nullable else "integer"}
    if description:
        schema["description"] = description
    return schema


def _number(description: str = "", nullable: bool = False) -> Schema:
    schema: Schema = {"type": ["number", "null"] if nullable else "number"}
    if description:
        schema["description"] = description
    return schema


def _obj(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _path(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": kind},
        "description": description,
    }


# -- public dashboard data ------------------------------------------------------------------------

INTERVAL_VIEW = _obj(
    {
        "interval_start": _int("UTC seconds"),
        "interval_end": _int("UTC seconds"),
        "gate_closure": _int("UTC seconds; bids close, then the interval clears"),
        "cleared": {"type": "boolean"},
        "price": _int("local price, minor/kWh; null = not cleared or no local trade", True),
        "volume_wh": _int("Wh traded locally; null = not cleared", True),
        "participants": _int("homes that bid; null = not cleared", True),
        "retail_price": _int("grid import price that applies, minor/kWh"),
        "feed_in_price": _int("grid export price that applies, minor/kWh"),
    }
)

TOTALS = _obj(
    {
        "from": _int("first interval start counted, UTC seconds"),
        "intervals": _int("cleared intervals"),
        "trading_intervals": _int("intervals with local trade"),
        "volume_wh": _int("Wh traded locally"),
        "buyers_saved_mminor": _int("sum of (retail - price - fee) x Wh bought locally"),
        "sellers_earned_mminor": _int("sum of (price - fee - feed-in) x Wh sold locally"),
        "fees_mminor": _int("fees collected"),
        "savings_mminor": _int("buyers saved + sellers earned, milli-minor units"),
    }
)

OVERVIEW = _obj(
    {
        "server_time_ms": _int("UTC ms"),
        "currency": {"type": "string"},
        "timezone": {"type": "string", "description": "the tariff's time zone; 'today' is there"},
        "market_mode": {"enum": list(MARKET_MODES)},
        "interval_seconds": _int(),
        "gate_closure_seconds": _int(),
        "fee_per_kwh": _int(),
        "k_percent": _int(),
        "homes": _obj(
            {
                "enrolled": _int("homes enrolled and not revoked"),
                "online": _int("of these, homes that sent a reading or bid recently"),
                "online_window_seconds": _int("'recently'"),
            }
        ),
        "current": INTERVAL_VIEW,
        "next": INTERVAL_VIEW,
        "today": TOTALS,
        "last_30_days": TOTALS,
    }
)

HISTORY_POINT = _obj(
    {
        "start": _int("bucket start, UTC seconds"),
        "intervals": _int("cleared intervals in the bucket"),
        "trading_intervals": _int("of these, with local trade"),
        "price": _number("volume-weighted local price; exact for one interval", True),
        "price_min": _int(nullable=True),
        "price_max": _int(nullable=True),
        "volume_wh": _int("Wh traded locally"),
        "retail_price": _number("mean grid import price"),
        "feed_in_price": _number("mean grid export price"),
    }
)

HISTORY = _obj(
    {
        "range": {"enum": ["24h", "7d", "30d"]},
        "from": _int("UTC seconds"),
        "to": _int("UTC seconds"),
        "interval_seconds": _int(),
        "bucket_seconds": _int("interval_seconds, or a multiple when there are many intervals"),
        "currency": {"type": "string"},
        "points": {"type": "array", "items": HISTORY_POINT},
    }
)

LEVEL = _obj(
    {
        "price": _int("effective price, minor/kWh"),
        "energy_wh": _int("energy of all steps at this price"),
        "cumulative_wh": _int("energy at this price or better"),
    }
)

ORDER_BOOK = _obj(
    {
        "interval_start": _int("UTC seconds"),
        "interval_end": _int("UTC seconds"),
        "market_mode": {"enum": list(MARKET_MODES)},
        "price_basis": {
            "const": "effective",
            "description": "buy: min(price, retail) - fee; sell: max(price, feed-in) + fee",
        },
        "participants": _int("homes that bid"),
        "retail_price": _int(),
        "feed_in_price": _int(),
        "fee_per_kwh": _int(),
        "k_percent": _int(),
        "demand": {"type": "array", "items": LEVEL, "description": "highest price first"},
        "supply": {"type": "array", "items": LEVEL, "description": "lowest price first"},
        "clearing": _obj(
            {
                "price": _int(nullable=True),
                "price_low": _int(nullable=True),
                "price_high": _int(nullable=True),
                "volume_wh": _int(),
            }
        ),
        "grid": _obj({"import_wh": _int(), "export_wh": _int()}),
    }
)

INTERVAL_PATH = _path("interval_start", "interval start, UTC seconds", "integer")

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
            "parameters": [_path("asset", "file below the dashboard's static folder")],
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
                **_errors(404),
            },
        }
    },
    "/api/v1/dashboard/overview": {
        "get": {
            "summary": "Homes, current and next local price against the grid, traded volume and "
            "the neighbourhood's savings",
            "responses": {"200": _json(OVERVIEW)},
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
            "responses": {"200": _json(HISTORY), **_errors(400)},
        }
    },
    "/api/v1/market/orderbook": {
        "get": {
            "summary": "Aggregated order book of the most recently cleared interval",
            "description": "Demand and supply curves merged over all homes; bids of intervals "
            "whose gate is still open are never shown.",
            "responses": {"200": _json(ORDER_BOOK), **_errors(404)},
        }
    },
    "/api/v1/market/orderbook/{interval_start}": {
        "get": {
            "summary": "Aggregated order book of one cleared interval",
            "parameters": [INTERVAL_PATH],
            "responses": {"200": _json(ORDER_BOOK), **_errors(400, 404)},
        }
    },
}

# -- admin ----------------------------------------------------------------------------------------

ADMIN_KEY = _obj(
    {
        "key_id": {"type": "string"},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "public_key": {"type": "string"},
        "revoked": {"type": "boolean"},
        "created_at": _int("UTC ms"),
        "revoked_at": _int("UTC ms", True),
    }
)

ADMIN_HOME = _obj(
    {
        "home_id": {"type": "string"},
        "name": {"type": "string"},
        "bus": _int(nullable=True),
        "created_at": _int("UTC ms"),
        "revoked": {"type": "boolean"},
        "revoked_at": _int("UTC ms", True),
        "last_seen_ms": _int("latest reading or bid within 30 days, UTC ms", True),
        "online": {"type": "boolean"},
        "keys": {"type": "array", "items": ADMIN_KEY},
    }
)

TARIFF = _obj(
    {
        "timezone": {"type": "string"},
        "periods": {
            "type": "array",
            "minItems": 1,
            "items": _obj(
                {
                    "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                    "retail_price": _int("minor units per kWh"),
                    "feed_in_price": _int("minor units per kWh, at most retail_price"),
                }
            ),
        },
    }
)

SETTINGS = _obj(
    {
        "currency": {"type": "string"},
        "market_mode": {"enum": list(MARKET_MODES)},
        "tariff": TARIFF,
        "fee_per_kwh": _int("minor units per kWh, each side of a local trade"),
        "k_percent": _int("0-100"),
        "interval_seconds": _int("in use"),
        "gate_closure_seconds": _int("in use"),
        "pending_restart": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "stored interval settings that apply when the hub restarts",
        },
        "stored": {
            "type": "array",
            "items": {"type": "string"},
            "description": "settings stored by the admin API (they override the config file)",
        },
    }
)

SETTINGS_UPDATE = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "tariff": TARIFF,
        "fee_per_kwh": {"type": "integer", "minimum": 0},
        "k_percent": {"type": "integer", "minimum": 0, "maximum": 100},
        "interval_seconds": {"type": "integer"},
        "gate_closure_seconds": {"type": "integer", "minimum": 0},
    },
}

INVITE_REQUEST = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "bus": {"type": ["integer", "null"], "minimum": 0},
        "ttl_hours": {"type": "number", "exclusiveMinimum": 0, "maximum": 720},
    },
}


def _body(schema: Schema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


ADMIN_PATHS: dict[str, Any] = {
    "/api/v1/admin/homes": {
        "get": {
            "summary": "All homes with keys and last activity (admin)",
            "security": ADMIN,
            "responses": {
                "200": _json(
                    _obj(
                        {
                            "homes": {"type": "array", "items": ADMIN_HOME},
                            "online_window_seconds": _int(),
                        }
                    )
                ),
                **_errors(401),
            },
        }
    },
    "/api/v1/admin/invites": {
        "post": {
            "summary": "Create a one-time join code for a new home (admin)",
            "security": ADMIN,
            "requestBody": _body(INVITE_REQUEST),
            "responses": {
                "201": _json(
                    _obj(
                        {
                            "join_code": {"type": "string"},
                            "name": {"type": "string"},
                            "bus": _int(nullable=True),
                            "expires_at": _int("UTC ms"),
                        }
                    ),
                    "the join code (shown once; only its hash is stored)",
                ),
                **_errors(400, 401, 422),
            },
        }
    },
    "/api/v1/admin/homes/{home_id}/revoke": {
        "post": {
            "summary": "Revoke a home and all its keys (admin)",
            "security": ADMIN,
            "parameters": [_path("home_id", "the home")],
            "responses": {
                "200": _json(_obj({"home": {"$ref": "#/components/schemas/Home"}})),
                **_errors(401, 404, 409),
            },
        }
    },
    "/api/v1/admin/keys/{key_id}/revoke": {
        "post": {
            "summary": "Revoke one device key (admin)",
            "security": ADMIN,
            "parameters": [_path("key_id", "the key")],
            "responses": {
                "200": _json(
                    _obj(
                        {
                            "key_id": {"type": "string"},
                            "home_id": {"type": "string"},
                            "revoked": {"const": True},
                        }
                    )
                ),
                **_errors(401, 404, 409),
            },
        }
    },
    "/api/v1/admin/settings": {
        "get": {
            "summary": "Tariff, fee, k and interval settings (admin)",
            "security": ADMIN,
            "responses": {"200": _json(SETTINGS), **_errors(401)},
        },
        "put": {
            "summary": "Change tariff, fee, k (at once) or interval settings (on restart) (admin)",
            "security": ADMIN,
            "requestBody": _body(SETTINGS_UPDATE),
            "responses": {"200": _json(SETTINGS), **_errors(400, 401, 422)},
        },
    },
}
