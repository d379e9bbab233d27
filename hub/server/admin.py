"""The operator's API behind the dashboard's admin area: invite, list and revoke homes and keys,
view and change tariffs, fee and k, and the interval settings; dim homes (grid limits).

Authentication: `Authorization: Bearer <admin token>`. The hub stores only the token's SHA-256
(hex), in the config key `admin_token_sha256` or the environment variable
GRIDCOOP_ADMIN_TOKEN_SHA256; `gridcoop-hub admin-token` prints a new token and its config line.
Every refusal is the usual JSON error: 401 `unauthenticated`, 400 `malformed`, 404 `not_found`,
409 `already_revoked`, 422 `invalid_setting`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import warnings
from collections.abc import Awaitable, Callable

from aiohttp import web

from hub.config import HubConfig
from hub.grid.errors import FeederError
from hub.logs import get_logger
from hub.server.context import CLOCK, CONFIG, STORE, now_ms
from hub.server.dashboard.routes import online_window_seconds
from hub.server.errors import error_response
from hub.server.openapi.admin import ADMIN_PATHS, MAX_BUS, MAX_HOME_NAME, MAX_TTL_HOURS
from hub.server.params import json_body, text_problem
from hub.server.runtime import CLEARING
from hub.service import dashboard_queries as queries
from hub.service import grid_limits, settings
from hub.service.network import validate_bus

__all__ = [
    "ADMIN_PATHS",
    "ADMIN_TOKEN_ENV",
    "SETTINGS_LOCK",
    "admin_token_text",
    "apply_runtime_config",
    "new_admin_token",
    "routes",
    "token_sha256",
]

_LOGGER = get_logger(__name__)
routes = web.RouteTableDef()

ADMIN_TOKEN_ENV = "GRIDCOOP_ADMIN_TOKEN_SHA256"
SETTINGS_LOCK = web.AppKey("admin_settings_lock", asyncio.Lock)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[0-9a-f]{1,64}$")
LAST_SEEN_DAYS = 30


# -- tokens ---------------------------------------------------------------------------------------


def new_admin_token() -> str:
    """A fresh admin token: 256 random bits, URL-safe, with a recognisable prefix."""
    return "gcadm_" + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def admin_token_text(token: str) -> str:
    """What `gridcoop-hub admin-token` prints: the token once, and where its hash goes."""
    digest = token_sha256(token)
    return (
        f"Admin token (shown only now; keep it secret): {token}\n"
        "The hub keeps only its SHA-256. Add this line to the hub's config file, above its first\n"
        "[table] line (a line at the end would belong to the last table), and restart:\n"
        f'admin_token_sha256 = "{digest}"\n'
        f"or set the environment: {ADMIN_TOKEN_ENV}={digest}\n"
        "Then sign in to the dashboard's Admin section with the token."
    )


def configured_hashes(config: HubConfig) -> list[str]:
    """Token hashes the hub accepts: the config key and/or the environment variable."""
    candidates = [getattr(config, "admin_token_sha256", None), os.environ.get(ADMIN_TOKEN_ENV)]
    hashes = []
    for value in candidates:
        if not value:
            continue
        value = str(value).strip().lower()
        if _SHA256_HEX.match(value):
            hashes.append(value)
        else:
            _LOGGER.warning("admin token hash is not 64 hex digits; ignoring it")
    return hashes


def _refusal(request: web.Request) -> str | None:
    """Why this request is not the operator's, or None when it is."""
    hashes = configured_hashes(request.app[CONFIG])
    if not hashes:
        return "no admin token is configured on this hub (see `gridcoop-hub admin-token`)"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "send the admin token as 'Authorization: Bearer <token>'"
    if text_problem(token) is not None:  # a header byte that is not UTF-8
        return "the admin token is not valid"
    digest = token_sha256(token.strip())
    if not any(hmac.compare_digest(digest, known) for known in hashes):
        return "the admin token is not valid"
    return None


# -- handler plumbing -----------------------------------------------------------------------------


class AdminError(Exception):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


Handler = Callable[[web.Request], Awaitable[web.Response]]


def admin_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        refusal = _refusal(request)
        if refusal is not None:
            response = error_response(401, "unauthenticated", refusal)
            response.headers["WWW-Authenticate"] = 'Bearer realm="gridcoop-admin"'
            return response
        try:
            return await handler(request)
        except AdminError as err:
            return error_response(err.status, err.reason, err.detail)
        except settings.SettingsError as err:
            return error_response(err.status, err.reason, err.detail)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


def path_id(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not _ID.match(value):
        raise AdminError(404, "not_found", f"no {name.removesuffix('_id')} {value!r}")
    return value


def apply_runtime_config(app: web.Application, config: HubConfig) -> None:
    """Make `config` the running one: for the request handlers (app[CONFIG]) and for the market
    (the ClearingService keeps its own reference)."""
    with warnings.catch_warnings():
        # aiohttp discourages changing a started app's state; this key is replaced atomically
        # and read per request, which is exactly what we want.
        warnings.simplefilter("ignore", DeprecationWarning)
        app[CONFIG] = config
    service = app[CLEARING]
    update = getattr(service, "update_config", None)
    if callable(update):
        update(config)
    else:  # until ClearingService offers update_config()
        service._config = config


# -- homes ----------------------------------------------------------------------------------------


@routes.get("/api/v1/admin/homes")
@admin_only
async def list_homes(request: web.Request) -> web.Response:
    """Every home with its keys, revoked ones included, and when it was last heard from."""
    store, config = request.app[STORE], request.app[CONFIG]
    now = now_ms(request.app)
    homes, seen = await asyncio.gather(
        store.list_homes(), queries.last_seen(store, now - LAST_SEEN_DAYS * 24 * 3600 * 1000)
    )
    window_ms = online_window_seconds(config) * 1000
    answer = []
    for home in homes:
        last = seen.get(home.home_id)
        answer.append(
            {
                **home.to_wire(),
                "revoked_at": home.revoked_at,
                "last_seen_ms": last,
                "online": not home.revoked and last is not None and last >= now - window_ms,
                "keys": [
                    {**key.to_wire(), "created_at": key.created_at, "revoked_at": key.revoked_at}
                    for key in home.keys
                ],
            }
        )
    return web.json_response({"homes": answer, "online_window_seconds": window_ms // 1000})


@routes.post("/api/v1/admin/invites")
@admin_only
async def invite(request: web.Request) -> web.Response:
    """A one-time join code for a new home (only its hash is stored)."""
    body = json_body(await request.read())
    if not isinstance(body, dict) or set(body) - {"name", "bus", "ttl_hours"}:
        raise AdminError(400, "malformed", "send {name, bus (optional), ttl_hours (optional)}")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_HOME_NAME:
        raise AdminError(400, "malformed", f"name must be a text of 1-{MAX_HOME_NAME} characters")
    if not name.strip():
        raise AdminError(422, "invalid_setting", "name must not be only spaces")
    bus = body.get("bus")
    if bus is not None and (
        isinstance(bus, bool) or not isinstance(bus, int) or not 0 <= bus <= MAX_BUS
    ):
        raise AdminError(400, "malformed", f"bus must be an integer within 0-{MAX_BUS} or null")
    if bus is not None:
        try:  # with a feeder configured, only its buses
            validate_bus(request.app[CONFIG], bus)
        except FeederError as err:
            raise AdminError(400, "unknown_bus", f"bus: {err}") from err
    ttl_hours = body.get("ttl_hours", request.app[CONFIG].join_code_ttl_ms / 3_600_000)
    if isinstance(ttl_hours, bool) or not isinstance(ttl_hours, int | float):
        raise AdminError(400, "malformed", "ttl_hours must be a number")
    if not 0 < ttl_hours <= MAX_TTL_HOURS:
        raise AdminError(422, "invalid_setting", f"ttl_hours must be within 0-{MAX_TTL_HOURS}")
    now = now_ms(request.app)
    ttl_ms = int(ttl_hours * 3_600_000)
    code = await request.app[STORE].create_join_code(name.strip(), bus, now, ttl_ms)
    _LOGGER.info("admin: home invited", extra={"home_name": name.strip(), "bus": bus})
    return web.json_response(
        {"join_code": code, "name": name.strip(), "bus": bus, "expires_at": now + ttl_ms},
        status=201,
    )


@routes.post("/api/v1/admin/homes/{home_id}/revoke")
@admin_only
async def revoke_home(request: web.Request) -> web.Response:
    """Revoke a home and all its keys: its bids no longer count, its requests are refused."""
    store = request.app[STORE]
    home_id = path_id(request, "home_id")
    home = await store.get_home(home_id)
    if home is None:
        raise AdminError(404, "not_found", f"no home {home_id!r}")
    if home.revoked:
        raise AdminError(409, "already_revoked", f"home {home_id!r} is already revoked")
    await store.revoke_home(home_id, now_ms(request.app))
    _LOGGER.info("admin: home revoked", extra={"home_id": home_id})
    revoked = await store.get_home(home_id)
    assert revoked is not None
    return web.json_response({"home": revoked.to_wire()})


@routes.post("/api/v1/admin/keys/{key_id}/revoke")
@admin_only
async def revoke_key(request: web.Request) -> web.Response:
    """Revoke one key, e.g. of a replaced meter; the home and its other keys stay."""
    store = request.app[STORE]
    key_id = path_id(request, "key_id")
    key = await store.get_key(key_id)
    if key is None:
        raise AdminError(404, "not_found", f"no key {key_id!r}")
    if key.revoked:
        raise AdminError(409, "already_revoked", f"key {key_id!r} is already revoked")
    await store.revoke_key(key_id, now_ms(request.app))
    _LOGGER.info("admin: key revoked", extra={"key_id": key_id, "home_id": key.home_id})
    return web.json_response({"key_id": key_id, "home_id": key.home_id, "revoked": True})


# -- settings -------------------------------------------------------------------------------------


@routes.get("/api/v1/admin/settings")
@admin_only
async def get_settings(request: web.Request) -> web.Response:
    stored = await request.app[STORE].get_settings()
    return web.json_response(settings.settings_view(request.app[CONFIG], stored))


@routes.put("/api/v1/admin/settings")
@admin_only
async def put_settings(request: web.Request) -> web.Response:
    """Change any of tariff, fee_per_kwh, k_percent (now, from the next clearing on) and
    interval_seconds, gate_closure_seconds (stored; they apply when the hub restarts)."""
    app = request.app
    values = settings.parse_update(json_body(await request.read()))
    async with app[SETTINGS_LOCK]:
        store = app[STORE]
        stored = await store.get_settings()
        running = app[CONFIG]
        # Check the whole future configuration first: nothing is stored unless all of it holds.
        settings.apply(settings.apply_stored(running, stored), values)
        runtime = {k: v for k, v in values.items() if k in settings.RUNTIME_KEYS}
        new_config = settings.apply(running, runtime)
        now = int(app[CLOCK]() * 1000)
        for key, value in values.items():
            await store.put_setting(key, settings.to_wire(key, value), now)
        apply_runtime_config(app, new_config)
        stored = await store.get_settings()
    _LOGGER.info("admin: settings changed", extra={"settings": sorted(values)})
    return web.json_response(settings.settings_view(new_config, stored))


# -- grid limits (dimming) ------------------------------------------------------------------------


@routes.get("/api/v1/admin/grid-limits")
@admin_only
async def get_grid_limits(request: web.Request) -> web.Response:
    """The grid limits that have not ended."""
    now = now_ms(request.app) // 1000
    orders = grid_limits.from_setting(await request.app[STORE].get_settings())
    return web.json_response({"grid_limits": grid_limits.to_setting(orders, now)})


@routes.post("/api/v1/admin/grid-limits")
@admin_only
async def post_grid_limit(request: web.Request) -> web.Response:
    """Cap a home's (or every home's) import and/or export from `start` to `end`: used by every
    clearing of an interval that overlaps the range, and sent to the home with its allocation."""
    app, now = request.app, now_ms(request.app)
    body = json_body(await request.read())
    if not isinstance(body, dict):
        raise AdminError(400, "malformed", "send a JSON object")
    try:
        order = grid_limits.parse_request(body, now // 1000)
    except grid_limits.GridLimitError as err:
        raise AdminError(422, "invalid_setting", f"grid limit: {err}") from err
    if order.home_id is not None:
        home = await app[STORE].get_home(order.home_id) if _ID.match(order.home_id) else None
        if home is None or home.revoked:
            raise AdminError(404, "not_found", f"no active home {order.home_id!r}")
    async with app[SETTINGS_LOCK]:
        store = app[STORE]
        orders = grid_limits.from_setting(await store.get_settings())
        kept = grid_limits.to_setting([*orders, order], now // 1000)
        if len(kept) > grid_limits.MAX_LIMITS:
            raise AdminError(422, "invalid_setting", "too many grid limits: lift some first")
        await store.put_setting(grid_limits.SETTING_KEY, kept, now)
    _LOGGER.warning("admin: grid limit set", extra={"grid_limit": order.to_wire()})
    return web.json_response(order.to_wire(), status=201)


@routes.delete("/api/v1/admin/grid-limits/{limit_id}")
@admin_only
async def delete_grid_limit(request: web.Request) -> web.Response:
    """Lift a grid limit: clearings from now on no longer apply it."""
    app, now = request.app, now_ms(request.app)
    limit_id = path_id(request, "limit_id")
    async with app[SETTINGS_LOCK]:
        store = app[STORE]
        orders = grid_limits.from_setting(await store.get_settings())
        kept = [o for o in orders if o.limit_id != limit_id]
        if len(kept) == len(orders):
            raise AdminError(404, "not_found", f"no grid limit {limit_id!r}")
        await store.put_setting(
            grid_limits.SETTING_KEY, grid_limits.to_setting(kept, now // 1000), now
        )
    _LOGGER.info("admin: grid limit lifted", extra={"limit_id": limit_id})
    return web.json_response({"grid_limits": grid_limits.to_setting(kept, now // 1000)})
