"""Ledger endpoints: blocks and finality, inclusion proofs, witnesses, home transactions,
statements and the export. Served only when the ledger is enabled."""

from __future__ import annotations

import io
import json
from typing import Any

from aiohttp import web
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.merkle import merkle_proof
from gridcoop_home.protocol import errors

from hub.ledger.accounts.statements import statement_csv
from hub.ledger.chain.chain import ChainBlock
from hub.ledger.chain.export import FORMAT, write_block
from hub.ledger.service.sealer import LedgerService, signed_header_of
from hub.server.auth import authenticate
from hub.server.context import CONFIG, STORE
from hub.server.params import int_param, json_body
from hub.service import monthly
from hub.store.ledger_store import LedgerStore

LEDGER = web.AppKey("ledger", LedgerService)
LEDGER_STORE = web.AppKey("ledger_store", LedgerStore)

routes = web.RouteTableDef()


def _ledger(request: web.Request) -> LedgerService:
    """The ledger, once loaded: a hub serves before its leadership and chain are settled."""
    ledger = request.app[LEDGER]
    if not ledger.started:
        raise LedgerError(errors.LEDGER_STARTING, "the ledger is still loading; retry shortly")
    return ledger


def _height(request: web.Request) -> int:
    try:
        height = int(request.match_info["height"])
    except ValueError as err:
        raise LedgerError(errors.MALFORMED, "height must be an integer") from err
    if not 0 <= height < 2**53:
        raise LedgerError(errors.MALFORMED, "height must be within 0-2^53")
    return height


def _block_wire(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **signed_header_of(row).to_wire(),
        "signer_count": row["signer_count"],
        "final": bool(row["final"]),
    }


async def _block_row(request: web.Request, height: int) -> dict[str, Any]:
    row = await request.app[LEDGER_STORE].block(height)
    if row is None:
        raise LedgerError(errors.UNKNOWN_BLOCK, f"no block at height {height}")
    return row


@routes.get("/api/v1/ledger/head")
async def head(request: web.Request) -> web.Response:
    ledger, store = _ledger(request), request.app[LEDGER_STORE]
    return web.json_response(
        {
            "height": ledger.head.header.height,
            "hash": ledger.head.header.hash,
            "final_height": await store.latest_final(),
            "chain_id": ledger.params.chain_id,
            "threshold": ledger.params.threshold,
            "token_unit_wh": ledger.params.token_unit_wh,
            # How long after an interval ends the hub settles it (it waits for late readings).
            "settlement_deadline_seconds": ledger.settings.settlement_deadline_seconds,
            "bls_backend": ledger.backend.name,
            "validators": [{**row, "index": row.pop("idx")} for row in await store.validators()],
        }
    )


@routes.get("/api/v1/ledger/blocks")
async def list_blocks(request: web.Request) -> web.Response:
    start = int_param(request, "from", 0, 0, 2**53)
    limit = int_param(request, "limit", 100, 1, 1000)
    rows = await request.app[LEDGER_STORE].blocks(start, limit)
    return web.json_response({"blocks": [_block_wire(row) for row in rows]})


@routes.get("/api/v1/ledger/blocks/{height}")
async def get_block(request: web.Request) -> web.Response:
    height = _height(request)
    row = await _block_row(request, height)
    answer: dict[str, Any] = {"block": _block_wire(row)}
    if request.query.get("entries", "1") != "0":
        entries = await request.app[LEDGER_STORE].block_entries(height)
        answer["entries"] = [{"hash": hash_, "data": data} for hash_, data in entries]
    return web.json_response(answer)


@routes.post("/api/v1/ledger/blocks/{height}/signatures")
async def add_signature(request: web.Request) -> web.Response:
    """A witness's co-signature; the BLS signature itself is the authentication."""
    height = _height(request)
    body = json_body(await request.read())
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("validator"), int)
        or not isinstance(body.get("signature"), str)
    ):
        raise LedgerError(errors.MALFORMED, 'body must be {"validator": int, "signature": hex}')
    result = await _ledger(request).add_signature(height, body["validator"], body["signature"])
    return web.json_response(result, status=201 if result["status"] == "signed" else 200)


@routes.get("/api/v1/ledger/equivocations")
async def equivocations(request: web.Request) -> web.Response:
    """Every proof that the hub signed two different blocks at one height (never deleted)."""
    rows = await request.app[LEDGER_STORE].equivocations()
    return web.json_response({"equivocations": rows})


@routes.post("/api/v1/ledger/equivocations")
async def report_equivocation(request: web.Request) -> web.Response:
    """A witness reports two headers the hub signed at one height; the hub's own signatures on
    them are the evidence, so no authentication is asked."""
    body = json_body(await request.read())
    proof, new = await _ledger(request).receive_equivocation(body)
    return web.json_response(
        {
            "status": "stored" if new else "already_known",
            "proof_id": proof.proof_id,
            "height": proof.height,
        },
        status=201 if new else 200,
    )


@routes.post("/api/v1/ledger/validators")
async def register_validator(request: web.Request) -> web.Response:
    """An enrolled home registers its witness's BLS key with a proof of possession."""
    caller = await authenticate(request)
    body = json_body(caller.body)
    if not isinstance(body, dict) or not all(
        isinstance(body.get(name), str) for name in ("name", "public_key", "pop")
    ):
        raise LedgerError(errors.MALFORMED, 'body must be {"name", "public_key", "pop"} strings')
    entry, entry_hash = await _ledger(request).register_validator(
        caller.home.home_id, body["name"], body["public_key"], body["pop"]
    )
    return web.json_response({"validator": entry, "entry_hash": entry_hash}, status=201)


async def _proof(request: web.Request, found: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "entry": json.loads(found["data"]),
        "hash": found["hash"],
        "height": found["height"],
        "index": found["idx"],
        "proof": [],
        "block": None,
    }
    if found["height"] is not None:
        leaves = [
            bytes.fromhex(h) for h in await request.app[LEDGER_STORE].leaf_hashes(found["height"])
        ]
        answer["proof"] = [p.hex() for p in merkle_proof(leaves, found["idx"])]
        answer["block"] = _block_wire(await _block_row(request, found["height"]))
    return answer


@routes.get("/api/v1/ledger/entries/{entry_hash}")
async def get_entry(request: web.Request) -> web.Response:
    found = await request.app[LEDGER_STORE].find_entry(request.match_info["entry_hash"])
    if found is None:
        raise web.HTTPNotFound(text="no entry with that hash")
    return web.json_response(await _proof(request, found))


@routes.get("/api/v1/ledger/homes/{home_id}")
async def home_account(request: web.Request) -> web.Response:
    """Balances and the home's latest settlement in a final block, with its inclusion proof."""
    ledger, store = _ledger(request), request.app[LEDGER_STORE]
    home_id = request.match_info["home_id"]
    if home_id not in ledger.state.homes:
        raise LedgerError(errors.UNKNOWN_ACCOUNT, f"home {home_id} is not in the ledger")
    final_height = await store.latest_final()
    settlement, settled_height = None, None
    for found in await store.settlement_entries(home_id, 500):
        if settled_height is None:
            settled_height = found["height"]  # the balance is as of this block
        height = found["height"]
        if final_height is not None and height is not None and height <= final_height:
            settlement = await _proof(request, found)
            break
    return web.json_response(
        {
            "account": ledger.state.account(home_id),
            "settlement": settlement,
            "settled_height": settled_height,
        }
    )


@routes.post("/api/v1/ledger/transactions")
async def submit_transaction(request: web.Request) -> web.Response:
    """A home's signed transfer or retirement (see gridcoop_home.ledger.transactions)."""
    caller = await authenticate(request)
    entry, entry_hash = await _ledger(request).submit_transaction(
        json_body(caller.body), caller.home.home_id
    )
    return web.json_response(
        {"status": "pending", "entry_hash": entry_hash, "entry": entry}, status=201
    )


@routes.get("/api/v1/ledger/retirements")
async def retirements(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 100, 1, 1000)
    rows = await request.app[LEDGER_STORE].retirements(limit)
    return web.json_response({"retirements": rows})


@routes.get("/api/v1/ledger/statements/{month}")
async def monthly_statement(request: web.Request) -> web.StreamResponse:
    """The calling home's statement for a month (YYYY-MM); `?format=csv` for CSV."""
    caller = await authenticate(request)
    month = request.match_info["month"]
    doc = await monthly.home_statement(
        request.app[STORE], request.app[CONFIG], month, caller.home.home_id
    )
    if request.query.get("format") == "csv":
        return web.Response(
            text=statement_csv(doc),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="statement-{month}.csv"'},
        )
    return web.json_response(doc)


@routes.get("/api/v1/ledger/export")
async def export(request: web.Request) -> web.StreamResponse:
    """The chain as `python -m hub verify --export FILE` reads it (JSON lines)."""
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    await response.write(json.dumps({"format": FORMAT}).encode() + b"\n")
    async for row, entries in request.app[LEDGER_STORE].iter_chain():
        block = ChainBlock(
            signed_header_of(row),
            [data.encode() for _h, data in entries],
            [hash_ for hash_, _d in entries],
        )
        buffer = io.BytesIO()
        write_block(buffer, block)
        await response.write(buffer.getvalue())
    await response.write_eof()
    return response
