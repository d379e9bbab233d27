"""The hub's side of an equivocation proof: check it against the chain's validators, keep it.

A witness that finds two blocks the hub signed at one height sends both headers here. The hub
keeps a proof only when both headers carry the hub's signature (validator 0) and every signature
verifies with the keys of the validators active at that height, as this hub's own chain records
them. It never deletes one (no API does), serves them all and the dashboard shows them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from gridcoop_home.ledger.block import signer_indexes
from gridcoop_home.ledger.bls import BlsBackend
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.heads import Equivocation, StatedHashMismatch
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.canonical import canonical_json

from hub.ledger.accounts.state import LedgerState
from hub.ledger.service.ports import LedgerStorage
from hub.logs import get_logger

_LOGGER = get_logger(__name__)
MAX_REPORTER = 200


async def receive_equivocation(
    data: object, state: LedgerState, storage: LedgerStorage, backend: BlsBackend, now_ms: int
) -> tuple[Equivocation, bool]:
    """Check and keep a proof; (the proof as kept, True when it is new). LedgerError when it
    is malformed (400: a field of the wrong type or range), well formed but proves nothing (422
    `invalid_entry`: not one height, one block twice, the hub not a signer, a false stated hash)
    or its signatures do not stand (401)."""
    try:
        proof = Equivocation.from_wire(data)
    except StatedHashMismatch as err:
        raise LedgerError(errors.INVALID_ENTRY, f"not an equivocation proof: {err}") from err
    except ValueError as err:
        raise LedgerError(errors.MALFORMED, f"not an equivocation proof: {err}") from err
    shape = proof.shape_problem()
    if shape is not None:
        raise LedgerError(errors.INVALID_ENTRY, f"not an equivocation proof: {shape}")
    active = {v.index: v.public_key for v in state.validators_at(proof.height)}
    signers = signer_indexes(proof.first.signers | proof.second.signers)
    keys = {i: active[i] for i in signers if i in active}
    problem = await asyncio.to_thread(proof.problem, keys, backend)
    if problem is not None:
        raise LedgerError(errors.BAD_BLOCK_SIGNATURE, f"not an equivocation proof: {problem}")
    kept = replace(proof, validators=keys, reporter=proof.reporter[:MAX_REPORTER])
    new = await storage.add_equivocation(
        {
            "proof_id": kept.proof_id,
            "height": kept.height,
            "first_hash": kept.first.header.hash,
            "second_hash": kept.second.header.hash,
            "reporter": kept.reporter,
            "proof": canonical_json(kept.to_wire()).decode(),
            "received_at": now_ms,
        }
    )
    if new:
        _LOGGER.error(
            "equivocation proof kept: the hub signed two different blocks at height %d",
            kept.height,
            extra={"reporter": kept.reporter},
        )
    return kept, new
