"""The operator's rewrite of final history (issue 16), as a reusable test helper.

The operator holds the database and the hub's BLS key file. With the hub stopped, they delete one
entry (say a home's retirement of green certificates), put the holdings back as if it never
happened, and re-sign every block from the entry's block on with the hub key, so the chain
hangs together again: hashes, Merkle roots and the hub's signatures all check. Only signatures
the operator does not hold (the witnesses') are gone. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gridcoop_home.ledger.block import GENESIS_PREV_HASH, signing_message
from gridcoop_home.ledger.bls import get_backend
from gridcoop_home.ledger.keyfile import load_or_create_key
from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from hub.ledger.chain.chain import make_header
from hub.store import schema
from hub.store.store import async_url


async def rewrite_history(db_url: str, key_file: Path, entry_hash: str) -> int:
    """Delete the entry `entry_hash` from a stopped hub's database, undo what it did to the
    holdings and re-sign its block and every later one with the hub key. Returns the height of
    the first rewritten block."""
    engine = create_async_engine(async_url(db_url))
    try:
        async with engine.begin() as conn:
            entry = await _entry(conn, entry_hash)
            height = int(entry["height"])
            await _forget(conn, entry)
            await _reseal_from(conn, height, load_or_create_key(key_file))
    finally:
        await engine.dispose()
    return height


async def _entry(conn: AsyncConnection, entry_hash: str) -> dict[str, Any]:
    e = schema.ledger_entries.c
    row = (await conn.execute(select(schema.ledger_entries).where(e.hash == entry_hash))).one()
    if row.height is None:
        raise ValueError("that entry is not sealed in a block yet")
    return row._asdict()


async def _forget(conn: AsyncConnection, entry: dict[str, Any]) -> None:
    """Delete the entry and the rows it wrote; give back the units a retirement took."""
    data = json.loads(entry["data"])
    e, h = schema.ledger_entries.c, schema.ledger_holdings.c
    await conn.execute(delete(schema.ledger_entries).where(e.hash == entry["hash"]))
    later = await conn.execute(
        select(e.entry_id, e.idx)
        .where(e.height == entry["height"], e.idx > entry["idx"])
        .order_by(e.idx)
    )
    for entry_id, idx in later.all():  # close the gap, lowest first (positions are unique)
        await conn.execute(
            update(schema.ledger_entries).where(e.entry_id == entry_id).values(idx=idx - 1)
        )
    if data["kind"] == "retire":
        r, t = schema.ledger_retirements.c, schema.ledger_transactions.c
        await conn.execute(delete(schema.ledger_retirements).where(r.entry_hash == entry["hash"]))
        await conn.execute(delete(schema.ledger_transactions).where(t.entry_hash == entry["hash"]))
        await conn.execute(
            update(schema.ledger_holdings)
            .where(
                and_(h.account == data["home_id"], h.asset == "certificate", h.lot == data["lot"])
            )
            .values(units=h.units + data["units"])
        )


async def _reseal_from(conn: AsyncConnection, height: int, hub_secret: int) -> None:
    """Recompute every header from `height` on and sign it with the hub key alone."""
    b, e, s = schema.ledger_blocks.c, schema.ledger_entries.c, schema.ledger_signatures.c
    backend = get_backend()
    threshold = await _threshold(conn)
    previous = (await conn.execute(select(b.block_hash).where(b.height == height - 1))).scalar()
    prev_hash = previous or GENESIS_PREV_HASH
    blocks = (
        await conn.execute(
            select(schema.ledger_blocks).where(b.height >= height).order_by(b.height)
        )
    ).all()
    for block in blocks:
        raws = [
            data.encode()
            for (data,) in await conn.execute(
                select(e.data).where(e.height == block.height).order_by(e.idx)
            )
        ]
        header = make_header(block.height, prev_hash, raws, block.time_ms, block.interval_start)
        signature = backend.sign(hub_secret, signing_message(header.hash)).hex()
        await conn.execute(
            update(schema.ledger_blocks)
            .where(b.height == block.height)
            .values(
                block_hash=header.hash,
                prev_hash=header.prev_hash,
                merkle_root=header.merkle_root,
                entry_count=header.entry_count,
                signers="1",
                signature=signature,
                signer_count=1,
                final=threshold <= 1,
            )
        )
        await conn.execute(
            delete(schema.ledger_signatures).where(s.height == block.height, s.validator != 0)
        )
        await conn.execute(
            update(schema.ledger_signatures)
            .where(s.height == block.height, s.validator == 0)
            .values(signature=signature)
        )
        prev_hash = header.hash


async def _threshold(conn: AsyncConnection) -> int:
    e = schema.ledger_entries.c
    genesis = (await conn.execute(select(e.data).where(e.height == 0, e.idx == 0))).scalar_one()
    return int(json.loads(genesis)["params"]["threshold"])
