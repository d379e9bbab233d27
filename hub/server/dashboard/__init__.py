"""The hub's web dashboard: served at `/` by the hub itself (no separate server, no build step).

`setup_dashboard(app)` adds the page, its assets, the public dashboard JSON, the order book and
the admin API (hub.server.admin) to an app made by `create_app`, and lays the settings stored by
the admin area over the configuration when the app starts.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from hub.server import admin
from hub.server.context import CONFIG, STORE
from hub.server.dashboard import routes
from hub.server.openapi.admin import ADMIN_PATHS, ADMIN_SECURITY_SCHEMES
from hub.server.openapi.dashboard import DASHBOARD_PATHS
from hub.service import settings

__all__ = ["ADMIN_PATHS", "ADMIN_SECURITY_SCHEMES", "DASHBOARD_PATHS", "setup_dashboard"]

_READY = web.AppKey("dashboard_ready", bool)


def setup_dashboard(app: web.Application) -> None:
    """Register the dashboard on `app` (idempotent: a second call changes nothing)."""
    if app.get(_READY):
        return
    app[_READY] = True
    app[admin.SETTINGS_LOCK] = asyncio.Lock()
    app.add_routes(routes.routes)
    app.add_routes(admin.routes)
    from hub.server import admin_statements  # here: it imports admin, which imports us

    app.add_routes(admin_statements.routes)
    # First in line: before the clearing loop (a cleanup context) starts with the old settings.
    app.on_startup.insert(0, _apply_stored_settings)


async def _apply_stored_settings(app: web.Application) -> None:
    stored = await app[STORE].get_settings()
    config = settings.apply_stored_at_start(app[CONFIG], stored)
    if config != app[CONFIG]:
        admin.apply_runtime_config(app, config)
