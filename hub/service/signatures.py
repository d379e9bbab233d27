"""Checking the signatures of signed messages (readings, bids, orders) with their enrolled keys.

The intake functions (hub.service.readings, hub.service.bids) take a `SignatureCheck`, so that
the server and the simulator run the same intake and differ only in where Ed25519 runs: the
server checks in this process (`check_signatures`), the simulator in helper processes before it
calls the intake (`prechecked`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError

from hub.store import Store

INLINE_SIGNATURES = 8  # at most ~1 ms of the event loop

# (store, items) -> item index -> whether that message's signature verifies with its key
SignatureCheck = Callable[
    [Store, Sequence[SignedMessage | ProtocolError]], Awaitable[dict[int, bool]]
]


async def check_signatures(
    store: Store, items: Sequence[SignedMessage | ProtocolError]
) -> dict[int, bool]:
    """Ed25519 costs ~0.1 ms a signature: a few are checked right here (a thread hop costs as
    much), a large batch in a worker thread so that it does not stall the event loop. A message
    signed by a key that is not enrolled does not verify."""
    messages = {i: item for i, item in enumerate(items) if isinstance(item, SignedMessage)}
    public_keys = await store.public_keys({m.key_id for m in messages.values()})

    def verify_all() -> dict[int, bool]:
        return {
            i: m.key_id in public_keys and m.signature_valid(public_keys[m.key_id])
            for i, m in messages.items()
        }

    if len(messages) <= INLINE_SIGNATURES:
        return verify_all()
    return await asyncio.to_thread(verify_all)


def prechecked(verdicts: Mapping[int, bool]) -> SignatureCheck:
    """Verdicts reached elsewhere with the enrolled keys (the simulator's helper processes),
    item index -> valid."""

    async def check(
        _store: Store, items: Sequence[SignedMessage | ProtocolError]
    ) -> dict[int, bool]:
        return {
            i: verdicts.get(i, False)
            for i, item in enumerate(items)
            if isinstance(item, SignedMessage)
        }

    return check
