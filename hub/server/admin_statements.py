"""The operator's money routes (admin token, like the rest of hub.server.admin): the community's
monthly summary and any home's monthly statement, as JSON or as a CSV download."""

from __future__ import annotations

from aiohttp import web

from hub.ledger.accounts.statements import statement_csv
from hub.server.admin import AdminError, admin_only, path_id
from hub.server.context import CONFIG, STORE
from hub.service import monthly

routes = web.RouteTableDef()


def _csv(text: str, filename: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@routes.get("/api/v1/admin/statements/{month}")
@admin_only
async def community_summary(request: web.Request) -> web.Response:
    """Every home's and the community's month; `?format=csv` for the CSV download."""
    month = request.match_info["month"]  # checked against the document's pattern already
    summary = await monthly.summary(request.app[STORE], request.app[CONFIG], month)
    if request.query.get("format") == "csv":
        return _csv(monthly.summary_csv(summary), f"gridcoop-summary-{month}.csv")
    return web.json_response(summary.to_wire())


@routes.get("/api/v1/admin/statements/{month}/homes/{home_id}")
@admin_only
async def home_statement(request: web.Request) -> web.Response:
    """One home's statement, the document the home itself gets; `?format=csv` for CSV."""
    month, home_id = request.match_info["month"], path_id(request, "home_id")
    try:
        doc = await monthly.home_statement(request.app[STORE], request.app[CONFIG], month, home_id)
    except monthly.UnknownHome as err:
        raise AdminError(404, "not_found", f"no home {home_id!r}") from err
    if request.query.get("format") == "csv":
        return _csv(statement_csv(doc), f"gridcoop-statement-{month}-{home_id}.csv")
    return web.json_response(doc)
