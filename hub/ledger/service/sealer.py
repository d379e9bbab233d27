"""The hub's ledger: records what happened, settles intervals, seals and signs a block per interval.

Runs inside the hub (hub.server wires it up) over a `LedgerStorage`. All writes go through one
lock: every entry is applied to the in-memory `LedgerState` first (which refuses anything that
breaks a rule) and then stored with its guard rows in one transaction. If storing fails, the state
is rebuilt from storage, so memory and database never disagree.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridcoop_home.ledger.block import (
    GENESIS_PREV_HASH,
    BlockHeader,
    SignedHeader,
    signer_indexes,
    signing_message,
)
from gridcoop_home.ledger.bls import get_backend
from gridcoop_home.ledger.entries import GENESIS, VALIDATOR, Entry
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.heads import Equivocation
from gridcoop_home.ledger.keyfile import load_or_create_key
from gridcoop_home.ledger.transactions import parse_transaction
from gridcoop_home.protocol import errors

from hub.ledger.accounts import recording
from hub.ledger.accounts.params import LedgerParams
from hub.ledger.accounts.state import LedgerState
from hub.ledger.chain.chain import decode_entry, encode, make_header
from hub.ledger.service.equivocations import receive_equivocation
from hub.ledger.service.ports import LedgerStorage
from hub.ledger.service.settings import LedgerSettings
from hub.logs import get_logger

_LOGGER = get_logger(__name__)
FAR_FUTURE = 2**62


def block_row(signed: SignedHeader, threshold: int) -> dict[str, Any]:
    header = signed.header
    return {
        "height": header.height,
        "block_hash": header.hash,
        "prev_hash": header.prev_hash,
        "merkle_root": header.merkle_root,
        "time_ms": header.time_ms,
        "entry_count": header.entry_count,
        "interval_start": header.interval_start,
        "signers": format(signed.signers, "x"),
        "signature": signed.signature.hex() if signed.signature else None,
        "signer_count": signed.signer_count,
        "final": signed.signer_count >= threshold,
    }


def signed_header_of(row: dict[str, Any]) -> SignedHeader:
    header = BlockHeader(
        height=row["height"],
        prev_hash=row["prev_hash"],
        merkle_root=row["merkle_root"],
        time_ms=row["time_ms"],
        entry_count=row["entry_count"],
        interval_start=row["interval_start"],
    )
    signature = row["signature"]
    return SignedHeader(
        header, int(row["signers"], 16), bytes.fromhex(signature) if signature else None
    )


def _load_key(path: Path) -> int:
    """The key file, created once even when two workers start at the same moment."""
    for _attempt in range(50):
        try:
            return load_or_create_key(path)
        except FileExistsError:  # another process created it between our check and create
            time.sleep(0.1)
        except ValueError:  # another process is still writing it
            if not path.exists() or path.stat().st_size > 0:
                raise
            time.sleep(0.1)
    return load_or_create_key(path)


class LedgerService:
    def __init__(
        self,
        storage: LedgerStorage,
        settings: LedgerSettings,
        clock: Callable[[], float] = time.time,
        key_dir: Path | None = None,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.backend = get_backend(settings.bls_backend)
        self.state = LedgerState(self.backend, check_meter_signatures=False)
        self._clock = clock
        key_path = Path(settings.key_file)
        self._key_path = (
            key_path if key_path.is_absolute() or key_dir is None else key_dir / key_path
        )
        self._secret = 0
        self._lock = asyncio.Lock()
        self._head: SignedHeader | None = None
        self._priorities: dict[int, dict[str, int]] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Become the writer: load (or create) the key and the chain, sealing genesis if new.
        With several workers only the leader calls this, each time it is elected."""
        self._secret = await asyncio.to_thread(_load_key, self._key_path)
        async with self._lock:
            await self._reload()
            if self._head is None:
                await self._genesis()

    async def follow(self) -> None:
        """Read what the leader wrote (a follower worker: after each new block). Never writes."""
        async with self._lock:
            await self._reload()

    @property
    def started(self) -> bool:
        return self._head is not None

    @property
    def head(self) -> SignedHeader:
        assert self._head is not None, "the ledger has not been started"
        return self._head

    @property
    def params(self) -> LedgerParams:
        assert self.state.params is not None
        return self.state.params

    async def _reload(self) -> None:
        """Rebuild the state from storage (start-up, or after a failed write)."""
        state = LedgerState(self.backend, check_meter_signatures=False)
        head: SignedHeader | None = None
        async for row, entries in self.storage.iter_chain():
            state.height = row["height"]
            for index, (_hash, data) in enumerate(entries):
                state.apply(decode_entry(data.encode()), f"block {row['height']} entry {index}")
            head = signed_header_of(row)
        state.height = 0 if head is None else head.header.height + 1
        for _id, _hash, data in await self.storage.pending():
            state.apply(decode_entry(data.encode()), f"block {state.height} (pending)")
        self.state, self._head = state, head

    async def _genesis(self) -> None:
        params = LedgerParams(
            chain_id=secrets.token_hex(16),
            token_unit_wh=self.settings.token_unit_wh,
            green_kinds=self.settings.green_kinds,
            threshold=self.settings.threshold,
            max_reading_gap_ms=self.settings.max_reading_gap_seconds * 1000,
            flex_tolerance_percent=self.settings.flex_tolerance_percent,
            flex_idle_wh=self.settings.flex_idle_wh,
        )
        public = self.backend.secret_to_public(self._secret)
        pop = await asyncio.to_thread(self.backend.prove_possession, self._secret)
        entry = {
            "kind": GENESIS,
            "params": params.to_wire(),
            "validator": {"name": "hub", "public_key": public.hex(), "pop": pop.hex()},
        }
        self.state.height = 0
        self.state.apply(entry, "block 0 entry 0")
        await self._seal_block(0, [], [entry], None, {})
        _LOGGER.info("ledger genesis", extra={"chain_id": params.chain_id})

    # -- sealing -------------------------------------------------------------------------------

    def note_priorities(self, interval_start: int, priorities: dict[str, int]) -> None:
        """Remember the clearing priorities used for an interval (recorded in its entry)."""
        self._priorities[interval_start] = dict(priorities)

    def flex_priorities(self) -> dict[str, int]:
        return self.state.flex_priorities()

    async def seal(self, interval_start: int | None = None) -> SignedHeader:
        """Record everything new, settle what is ready, then seal and sign one block."""
        async with self._lock:
            try:
                return await self._seal(interval_start)
            except Exception:
                await self._reload()
                raise

    async def _seal(self, interval_start: int | None) -> SignedHeader:
        height = self.head.header.height + 1
        state = self.state
        state.height = height
        pending = await self.storage.pending()
        new: list[Entry] = []

        def add(entry: Entry) -> None:
            where = f"block {height} entry {len(pending) + len(new)}"
            try:
                state.apply(entry, where)
            except LedgerError as err:
                _LOGGER.error("ledger refused %s: %s", entry.get("kind"), err)
                return
            new.append(entry)

        meta = await self.storage.meta()
        registry = await self.storage.registry()
        for entry in recording.enrolment_entries(registry, state):
            add(entry)
        rows = await self.storage.unrecorded_readings(self.settings.readings_per_block)
        readings, refused = recording.readings_entries(rows, state)
        for row, err in refused:
            _LOGGER.error("ledger refused the reading %s seq %s: %s", row[0], row[1], err)
        for entry in readings:
            add(entry)
        cleared_through = int(meta.get("cleared_through", "-1"))
        up_to = FAR_FUTURE if interval_start is None else interval_start
        for cleared in await self.storage.cleared_after(cleared_through, up_to):
            start = cleared["interval_start"]
            priorities = self._priorities.pop(start, {})
            add(recording.clearing_entry(cleared, priorities, self.params.entry_format))
            cleared_through = start
        now_ms = int(self._clock() * 1000)
        deadline_ms = self.settings.settlement_deadline_seconds * 1000
        for start in sorted(state.clearings):
            if state.settlement_ready(start, now_ms, deadline_ms):
                for entry in state.settlement_batch(start):
                    add(entry)
        for entry in recording.revocation_entries(registry, state):
            add(entry)
        new_meta = {"cleared_through": str(cleared_through)}
        reading_ids = [row[0] for row in rows]  # refused ones too: they are not retried
        return await self._seal_block(height, pending, new, interval_start, new_meta, reading_ids)

    async def _seal_block(
        self,
        height: int,
        pending: list[tuple[int, str, str]],
        new: list[Entry],
        interval_start: int | None,
        meta: dict[str, str],
        reading_ids: list[int] | None = None,
    ) -> SignedHeader:
        encoded = [(entry, *encode(entry)) for entry in new]
        raws = [data.encode() for _id, _hash, data in pending] + [raw for _e, raw, _h in encoded]
        prev = GENESIS_PREV_HASH if self._head is None else self._head.header.hash
        header = make_header(height, prev, raws, int(self._clock() * 1000), interval_start)
        signature = await asyncio.to_thread(
            self.backend.sign, self._secret, signing_message(header.hash)
        )
        signed = SignedHeader(header, 1, signature)
        await self.storage.seal(
            block_row(signed, self.params.threshold),
            [entry_id for entry_id, _h, _d in pending],
            [(entry, raw.decode(), hash_) for entry, raw, hash_ in encoded],
            signature.hex(),
            meta,
            reading_ids or [],
        )
        self._head = signed
        self.state.height = height + 1
        return signed

    # -- entries from homes and witnesses ---------------------------------------------------------

    async def submit_transaction(self, data: object, home_id: str) -> tuple[Entry, str]:
        """Check and queue a home's signed transfer or retirement; returns (entry, hash)."""
        entry = parse_transaction(data)
        if entry["home_id"] != home_id:
            raise LedgerError(errors.KEY_NOT_YOURS, "a home may only sign its own transactions")
        return entry, await self._append(entry)

    async def register_validator(
        self, home_id: str, name: str, public_key: str, pop: str
    ) -> tuple[Entry, str]:
        try:
            bytes.fromhex(public_key)
            bytes.fromhex(pop)
        except ValueError as err:
            raise LedgerError(errors.MALFORMED, "public_key and pop must be hex") from err
        if not 0 < len(name) <= 64:
            raise LedgerError(errors.MALFORMED, "name must be 1-64 characters")
        async with self._lock:
            entry = {
                "kind": VALIDATOR,
                "index": len(self.state.validators),
                "name": name,
                "public_key": public_key,
                "pop": pop,
                "home_id": home_id,
                "active_from": self.head.header.height + 2,
            }
            return entry, await self._append_locked(entry)

    async def _append(self, entry: Entry) -> str:
        async with self._lock:
            return await self._append_locked(entry)

    async def _append_locked(self, entry: Entry) -> str:
        self.state.height = self.head.header.height + 1
        self.state.apply(entry, f"block {self.state.height} (pending)")
        raw, hash_ = encode(entry)
        try:
            await self.storage.append_pending((entry, raw.decode(), hash_))
        except Exception:
            await self._reload()
            raise
        return hash_

    async def add_signature(
        self, height: int, validator: int, signature_hex: str
    ) -> dict[str, Any]:
        """A validator's co-signature on a block: verified, stored and aggregated."""
        row = await self.storage.block(height)
        if row is None:
            raise LedgerError(errors.UNKNOWN_BLOCK, f"no block at height {height}")
        if not 0 <= validator < len(self.state.validators):
            raise LedgerError(errors.UNKNOWN_VALIDATOR, f"no validator {validator}")
        member = self.state.validators[validator]
        if member.active_from > height:
            raise LedgerError(
                errors.VALIDATOR_NOT_ACTIVE,
                f"validator {validator} signs from block {member.active_from} on, not {height}",
            )
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError as err:
            raise LedgerError(errors.MALFORMED, "signature must be hex") from err
        message = signing_message(row["block_hash"])
        if not await asyncio.to_thread(self.backend.verify, member.public_key, message, signature):
            raise LedgerError(
                errors.BAD_BLOCK_SIGNATURE,
                f"validator {validator}'s signature does not verify for block {height}",
            )
        async with self._lock:
            stored = await self.storage.signatures(height)
            if validator in stored:
                return {"height": height, "status": "already_signed", **self._signers(row)}
            stored[validator] = signature.hex()
            indexes = sorted(stored)
            aggregate = self.backend.aggregate([bytes.fromhex(stored[i]) for i in indexes])
            bitmap = sum(1 << i for i in indexes)
            final = len(indexes) >= self.params.threshold
            await self.storage.add_signature(
                height,
                validator,
                signature.hex(),
                aggregate.hex(),
                format(bitmap, "x"),
                len(indexes),
                final,
            )
            if self._head is not None and height == self._head.header.height:
                self._head = SignedHeader(self._head.header, bitmap, aggregate)
        return {"height": height, "status": "signed", "signers": indexes, "final": final}

    async def receive_equivocation(self, data: object) -> tuple[Equivocation, bool]:
        """A witness's proof that this hub signed two blocks at one height: checked, kept."""
        now_ms = int(self._clock() * 1000)
        return await receive_equivocation(data, self.state, self.storage, self.backend, now_ms)

    @staticmethod
    def _signers(row: dict[str, Any]) -> dict[str, Any]:
        return {"signers": signer_indexes(int(row["signers"], 16)), "final": bool(row["final"])}
