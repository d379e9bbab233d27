"""What the ledger service needs from storage (implemented by hub.store.ledger_store)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

# (entry, canonical JSON text, leaf hash hex)
EntryRow = tuple[dict[str, Any], str, str]


class LedgerStorage(Protocol):
    def iter_chain(
        self, from_height: int = 0, chunk: int = 200
    ) -> AsyncIterator[tuple[dict[str, Any], list[tuple[str, str]]]]: ...
    async def head(self) -> dict[str, Any] | None: ...
    async def block(self, height: int) -> dict[str, Any] | None: ...
    async def pending(self) -> list[tuple[int, str, str]]: ...
    async def append_pending(self, row: EntryRow) -> None: ...
    async def seal(
        self,
        block: dict[str, Any],
        pending_ids: Sequence[int],
        new_entries: Sequence[EntryRow],
        hub_signature: str,
        meta: dict[str, str],
        reading_ids: Sequence[int] = (),
    ) -> None: ...
    async def add_signature(
        self,
        height: int,
        validator: int,
        signature: str,
        aggregate: str,
        signers: str,
        signer_count: int,
        final: bool,
    ) -> bool: ...
    async def signatures(self, height: int) -> dict[int, str]: ...
    async def meta(self) -> dict[str, str]: ...
    async def registry(self) -> list[dict[str, Any]]: ...
    async def unrecorded_readings(self, limit: int) -> list[tuple[Any, ...]]: ...
    async def cleared_after(self, interval_start: int, up_to: int) -> list[dict[str, Any]]: ...
