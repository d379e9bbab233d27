"""OpenAPI paths of the operator's money routes (hub.server.admin_statements): the community's
monthly summary and any home's statement, JSON or CSV."""

from __future__ import annotations

from typing import Any

from hub.ledger.accounts.statements import MONTH_PATTERN
from hub.server.openapi.common import ADMIN, closed_object, int_schema, path_param, refusals
from hub.server.openapi.ledger_schemas import STATEMENT_SCHEMA as STATEMENT

Schema = dict[str, Any]

MONTH_PATH = {
    "name": "month",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": MONTH_PATTERN},
    "description": "YYYY-MM, a calendar month in the tariff's timezone (1970-01 to 2999-12)",
}
FORMAT_QUERY = {
    "name": "format",
    "in": "query",
    "required": False,
    "schema": {"enum": ["json", "csv"]},
    "description": "json (default) or csv (a download)",
}

_TOTALS: dict[str, Schema] = {
    "intervals": int_schema("cleared intervals the home took part in (community: all)"),
    "bought_local_wh": int_schema(),
    "sold_local_wh": int_schema(),
    "grid_import_wh": int_schema("bought from the grid"),
    "grid_export_wh": int_schema("sold to the grid"),
    "paid_mminor": int_schema("everything paid: local energy with its fee, grid at retail"),
    "received_mminor": int_schema(
        "everything received: local energy less its fee, grid at feed-in"
    ),
    "paid_grid_mminor": int_schema("grid import x the interval's retail price"),
    "received_grid_mminor": int_schema("grid export x the interval's feed-in price"),
    "paid_local_mminor": int_schema("paid - paid_grid: local energy, fees included"),
    "received_local_mminor": int_schema("received - received_grid"),
    "fees_mminor": int_schema(),
    "net_mminor": int_schema("received - paid"),
}
HOME_MONTH = closed_object({"home_id": {"type": "string"}, "name": {"type": "string"}, **_TOTALS})
COMMUNITY_MONTH = closed_object(
    {**_TOTALS, "congestion_rent_mminor": int_schema("kept by the hub when a feeder priced by bus")}
)
SUMMARY = closed_object(
    {
        "month": {"type": "string"},
        "currency": {"type": "string"},
        "timezone": {"type": "string"},
        "start": int_schema("first interval start of the month, UTC seconds"),
        "end": int_schema("first interval start after the month, UTC seconds"),
        "homes": {"type": "array", "items": HOME_MONTH},
        "community": COMMUNITY_MONTH,
        "balanced": {
            "type": "boolean",
            "description": "homes add up to the intervals' totals, paid_local = received_local "
            "+ fees + congestion rent",
        },
    }
)


def _answer(schema: Schema, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": schema},
            "text/csv": {"schema": {"type": "string"}},
        },
    }


STATEMENT_PATHS: dict[str, Any] = {
    "/api/v1/admin/statements/{month}": {
        "get": {
            "summary": "The community's monthly summary, per home and in total (admin)",
            "security": ADMIN,
            "parameters": [MONTH_PATH, FORMAT_QUERY],
            "responses": {
                "200": _answer(SUMMARY, "the summary (money in exact milli-minor units)"),
                **refusals(401),
            },
        }
    },
    "/api/v1/admin/statements/{month}/homes/{home_id}": {
        "get": {
            "summary": "A home's monthly statement, as the home gets it (admin)",
            "security": ADMIN,
            "parameters": [MONTH_PATH, path_param("home_id", "the home"), FORMAT_QUERY],
            "responses": {
                "200": _answer(STATEMENT, "the statement (the ledger's settlements)"),
                **refusals(401, 404),
            },
        }
    },
}
