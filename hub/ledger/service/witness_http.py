"""The witness's own HTTP endpoint (127.0.0.1 unless told otherwise): what it has seen, what it
signed and what it caught, for neighbours, homes and `python -m hub verify --heads URL`.

    GET /status          the chain it follows, how far it checked and signed, whether it halted
    GET /heads?limit=N   the newest blocks it recorded as signed heads, newest first (N <= 1000)
    GET /equivocations   every equivocation proof it holds against the hub
"""

from __future__ import annotations

from aiohttp import web

from hub.ledger.service.witness import Witness

WITNESS = web.AppKey("witness", Witness)
DEFAULT_HEADS = 10
MAX_HEADS = 1000

routes = web.RouteTableDef()


@routes.get("/status")
async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[WITNESS].status())


@routes.get("/heads")
async def heads(request: web.Request) -> web.Response:
    text = request.query.get("limit", str(DEFAULT_HEADS))
    if not text.isdigit() or not 1 <= int(text) <= MAX_HEADS:
        return web.json_response(
            {"error": "malformed", "detail": f"limit must be 1-{MAX_HEADS}"}, status=400
        )
    found = request.app[WITNESS].heads(int(text))
    return web.json_response({"heads": [head.to_wire() for head in found]})


@routes.get("/equivocations")
async def equivocations(request: web.Request) -> web.Response:
    proofs = request.app[WITNESS].equivocations()
    return web.json_response({"equivocations": [proof.to_wire() for proof in proofs]})


def witness_app(witness: Witness) -> web.Application:
    app = web.Application()
    app[WITNESS] = witness
    app.add_routes(routes)
    return app


async def serve_witness(witness: Witness, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Start the endpoint; (runner to clean up, its base URL)."""
    runner = web.AppRunner(witness_app(witness), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    return runner, f"http://{bound[0]}:{bound[1]}"
