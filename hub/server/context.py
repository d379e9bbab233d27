"""Typed application keys shared by the server modules."""

from __future__ import annotations

from aiohttp import web

from hub.config import HubConfig
from hub.service.ports import Clock
from hub.store import Store

CONFIG = web.AppKey("config", HubConfig)
STORE = web.AppKey("store", Store)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")


def now_ms(app: web.Application) -> int:
    return int(app[CLOCK]() * 1000)
