"""App keys for the long-lived services that live inside a running hub."""

from __future__ import annotations

from aiohttp import web

from hub.server.broadcast import Broadcaster
from hub.service.clearing import ClearingService

BROADCASTER = web.AppKey("broadcaster", Broadcaster)
CLEARING = web.AppKey("clearing", ClearingService)
