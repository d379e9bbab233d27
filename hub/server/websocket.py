"""GET /api/v1/ws: a WebSocket that pushes each cleared interval as it happens.

Unsigned connections get public market news ("interval_cleared"); a connection opened with a
signed request (home key) also gets that home's "allocation" messages with dispatch commands.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web
from gridcoop_home.protocol.requests import HEADER_SIGNATURE

from hub.server.auth import authenticate
from hub.server.context import CLOCK
from hub.server.runtime import BROADCASTER

routes = web.RouteTableDef()


@routes.get("/api/v1/ws")
async def stream(request: web.Request) -> web.WebSocketResponse:
    home_id = None
    if HEADER_SIGNATURE in request.headers:
        home_id = (await authenticate(request)).home.home_id
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    broadcaster = request.app[BROADCASTER]
    broadcaster.subscribe(ws, home_id)
    try:
        await ws.send_json(
            {
                "type": "hello",
                "home_id": home_id,
                "server_time_ms": int(request.app[CLOCK]() * 1000),
            }
        )
        async for message in ws:  # clients only ever ping; we just wait for the close
            if message.type == WSMsgType.ERROR:
                break
    finally:
        broadcaster.unsubscribe(ws, home_id)
    return ws
