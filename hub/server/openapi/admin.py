"""OpenAPI paths of the operator's admin API (bearer admin token, hub.server.admin): homes and
keys, invitations, settings."""

from __future__ import annotations

from typing import Any

from hub.server.openapi.admin_statements import STATEMENT_PATHS
from hub.server.openapi.common import (
    ADMIN,
    closed_object,
    int_schema,
    json_answer,
    json_body,
    path_param,
    refusals,
)
from hub.service.grid_limits import MAX_LIMIT_KW
from hub.service.settings import MARKET_MODES, MAX_PERIODS

Schema = dict[str, Any]
MAX_BUS = 2**31 - 1  # an invitation's feeder bus
MAX_TTL_HOURS = 30 * 24  # an invitation's lifetime
MAX_HOME_NAME = 200

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


ADMIN_KEY = closed_object(
    {
        "key_id": {"type": "string"},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "public_key": {"type": "string"},
        "revoked": {"type": "boolean"},
        "created_at": int_schema("UTC ms"),
        "revoked_at": int_schema("UTC ms", True),
    }
)

ADMIN_HOME = closed_object(
    {
        "home_id": {"type": "string"},
        "name": {"type": "string"},
        "bus": int_schema(nullable=True),
        "created_at": int_schema("UTC ms"),
        "revoked": {"type": "boolean"},
        "revoked_at": int_schema("UTC ms", True),
        "last_seen_ms": int_schema("latest reading or bid within 30 days, UTC ms", True),
        "online": {"type": "boolean"},
        "keys": {"type": "array", "items": ADMIN_KEY},
    }
)


def _tariff(optional: tuple[str, ...] = ()) -> Schema:
    return closed_object(
        {
            "timezone": {"type": "string", "minLength": 1, "description": "IANA name, e.g. UTC"},
            "periods": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_PERIODS,
                "items": closed_object(
                    {
                        "start": {
                            "type": "string",
                            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
                        },
                        "retail_price": int_schema("minor units per kWh"),
                        "feed_in_price": int_schema("minor units per kWh, at most retail_price"),
                    }
                ),
            },
        },
        optional,
    )


TARIFF = _tariff()
TARIFF_UPDATE = _tariff(optional=("timezone",))  # UTC when left out

SETTINGS = closed_object(
    {
        "currency": {"type": "string"},
        "market_mode": {"enum": list(MARKET_MODES)},
        "tariff": TARIFF,
        "fee_per_kwh": int_schema("minor units per kWh, each side of a local trade"),
        "k_percent": int_schema("0-100"),
        "interval_seconds": int_schema("in use"),
        "gate_closure_seconds": int_schema("in use"),
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
        "tariff": TARIFF_UPDATE,
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
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_HOME_NAME,
            "description": "stored without leading and trailing spaces; 422 when only spaces",
        },
        "bus": {
            "oneOf": [{"type": "integer", "minimum": 0, "maximum": MAX_BUS}, {"type": "null"}],
            "description": "the home's feeder bus, or null",
        },
        "ttl_hours": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TTL_HOURS},
    },
}

_KW = {
    "oneOf": [{"type": "number", "minimum": 0, "maximum": MAX_LIMIT_KW}, {"type": "null"}],
    "description": "kW (average over each interval), or null for no limit that way",
}
GRID_LIMIT_REQUEST = {
    "type": "object",
    "required": ["start", "end"],
    "additionalProperties": False,
    "properties": {
        "home_id": {
            "oneOf": [{"type": "string", "minLength": 1}, {"type": "null"}],
            "description": "the home to dim; null or absent: every home",
        },
        "start": {"type": "integer", "minimum": 0, "description": "UTC seconds"},
        "end": {"type": "integer", "minimum": 0, "description": "UTC seconds, after start"},
        "import_kw": _KW,
        "export_kw": _KW,
    },
}
GRID_LIMIT = closed_object(
    {
        "limit_id": {"type": "string"},
        "home_id": {"type": ["string", "null"]},
        "start": int_schema("UTC seconds"),
        "end": int_schema("UTC seconds"),
        "import_kw": {"type": ["number", "null"]},
        "export_kw": {"type": ["number", "null"]},
    }
)
GRID_LIMITS = closed_object({"grid_limits": {"type": "array", "items": GRID_LIMIT}})

ADMIN_PATHS: dict[str, Any] = {
    "/api/v1/admin/homes": {
        "get": {
            "summary": "All homes with keys and last activity (admin)",
            "security": ADMIN,
            "responses": {
                "200": json_answer(
                    closed_object(
                        {
                            "homes": {"type": "array", "items": ADMIN_HOME},
                            "online_window_seconds": int_schema(),
                        }
                    )
                ),
                **refusals(401),
            },
        }
    },
    "/api/v1/admin/invites": {
        "post": {
            "summary": "Create a one-time join code for a new home (admin)",
            "security": ADMIN,
            "requestBody": json_body(INVITE_REQUEST),
            "responses": {
                "201": json_answer(
                    closed_object(
                        {
                            "join_code": {"type": "string"},
                            "name": {"type": "string"},
                            "bus": int_schema(nullable=True),
                            "expires_at": int_schema("UTC ms"),
                        }
                    ),
                    "the join code (shown once; only its hash is stored)",
                ),
                **refusals(400, 401, 422),
            },
        }
    },
    "/api/v1/admin/homes/{home_id}/revoke": {
        "post": {
            "summary": "Revoke a home and all its keys (admin)",
            "security": ADMIN,
            "parameters": [path_param("home_id", "the home")],
            "responses": {
                "200": json_answer(closed_object({"home": {"$ref": "#/components/schemas/Home"}})),
                **refusals(401, 404, 409),
            },
        }
    },
    "/api/v1/admin/keys/{key_id}/revoke": {
        "post": {
            "summary": "Revoke one device key (admin)",
            "security": ADMIN,
            "parameters": [path_param("key_id", "the key")],
            "responses": {
                "200": json_answer(
                    closed_object(
                        {
                            "key_id": {"type": "string"},
                            "home_id": {"type": "string"},
                            "revoked": {"const": True},
                        }
                    )
                ),
                **refusals(401, 404, 409),
            },
        }
    },
    "/api/v1/admin/settings": {
        "get": {
            "summary": "Tariff, fee, k and interval settings (admin)",
            "security": ADMIN,
            "responses": {"200": json_answer(SETTINGS), **refusals(401)},
        },
        "put": {
            "summary": "Change tariff, fee, k (at once) or interval settings (on restart) (admin)",
            "security": ADMIN,
            "requestBody": json_body(SETTINGS_UPDATE),
            "responses": {"200": json_answer(SETTINGS), **refusals(400, 401, 422)},
        },
    },
    "/api/v1/admin/grid-limits": {
        "get": {
            "summary": "The grid operator's limits on homes' import and export (admin)",
            "security": ADMIN,
            "responses": {"200": json_answer(GRID_LIMITS), **refusals(401)},
        },
        "post": {
            "summary": "Dim a home (or every home): cap its import and/or export for a time "
            "range; the clearing and the home's dispatch keep within it (admin)",
            "security": ADMIN,
            "requestBody": json_body(GRID_LIMIT_REQUEST),
            "responses": {
                "201": json_answer(GRID_LIMIT, "the stored limit"),
                **refusals(400, 401, 404, 422),
            },
        },
    },
    "/api/v1/admin/grid-limits/{limit_id}": {
        "delete": {
            "summary": "Lift a grid limit (admin)",
            "security": ADMIN,
            "parameters": [path_param("limit_id", "the limit")],
            "responses": {"200": json_answer(GRID_LIMITS), **refusals(401, 404)},
        }
    },
}
ADMIN_PATHS |= STATEMENT_PATHS
