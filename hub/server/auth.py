"""Authenticate a request signed with a home key (see gridcoop_home.protocol.requests).

Two steps. `verify_request` checks what needs no write: the key, the signature and the clock
window. Then the request's sequence is accepted, which refuses replays and revoked homes or keys
(the database says, so a revocation by any worker counts at once). The sequence is accepted last,
after every other check passed, so a forged or stale request cannot burn a legitimate client's
next sequence number.

`authenticate` does both and loads the caller's home. The busy write routes (readings, bids) use
`verify_request` and `sequence_spent` instead: their own transaction accepts the sequence, so
a request costs one commit, not two.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.freshness import check_timestamp
from gridcoop_home.protocol.requests import parse_request_signature

from hub.server.context import CONFIG, STORE, now_ms
from hub.server.params import text_problem
from hub.store.records import HomeRecord, KeyIdentity, KeyRecord, RequestSequence
from hub.store.store import RequestRefused

AUTHENTICATED_KEY = web.RequestKey("gridcoop_authenticated_key", str)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature checked out; its sequence is not accepted yet."""

    key: KeyIdentity
    seq: int
    body: bytes

    @property
    def home_id(self) -> str:
        return self.key.home_id

    @property
    def sequence(self) -> RequestSequence:
        return RequestSequence(self.key.key_id, self.seq)


@dataclass(frozen=True, slots=True)
class Caller:
    home: HomeRecord
    key: KeyRecord
    body: bytes


async def authenticate(request: web.Request) -> Caller:
    """Check signature, key status, clock window and sequence; raise ProtocolError otherwise."""
    signed = await verify_request(request)
    await accept(request, signed)
    home = await request.app[STORE].get_home(signed.home_id)
    key = (
        next((key for key in home.keys if key.key_id == signed.key.key_id), None) if home else None
    )
    if home is None or key is None:  # keys and homes are never deleted
        raise ProtocolError(errors.UNKNOWN_KEY, f"key {signed.key.key_id} is not enrolled")
    return Caller(home=home, key=key, body=signed.body)


async def verify_request(request: web.Request) -> SignedRequest:
    """The key, the signature and the clock window; writes nothing."""
    store, config = request.app[STORE], request.app[CONFIG]
    signature = parse_request_signature(request.headers)
    if text_problem(signature.key_id) is not None:  # a header byte that is not UTF-8
        raise ProtocolError(errors.UNKNOWN_KEY, "the key id header is not a key id")
    body = await request.read()
    key = (await store.key_identities([signature.key_id])).get(signature.key_id)
    if key is None:
        raise ProtocolError(errors.UNKNOWN_KEY, f"key {signature.key_id} is not enrolled")
    if key.kind != "home":
        raise ProtocolError(errors.WRONG_KEY_KIND, "requests must be signed with the home key")
    if not signature.valid_for(key.public_key, request.method, request.path_qs, body):
        raise ProtocolError(errors.BAD_SIGNATURE, "request signature or content digest invalid")
    window = config.request_window_ms
    try:
        check_timestamp(now_ms(request.app), signature.ts_ms, window, window)
    except ProtocolError as stale:
        # A revoked home or key is told so first, whatever its clock says.
        raise (await store.revocation(key.key_id)) or stale from None
    return SignedRequest(key=key, seq=signature.seq, body=body)


async def accept(request: web.Request, signed: SignedRequest) -> None:
    """Accept the request's sequence on its own (RequestRefused: replay, revoked)."""
    await request.app[STORE].accept_request(signed.sequence)
    _mark_authenticated(request, signed)


@asynccontextmanager
async def sequence_spent(request: web.Request, signed: SignedRequest) -> AsyncIterator[None]:
    """Around a route body whose write accepts `signed.sequence` in its own transaction.

    Should the request fail anywhere else (a malformed body, a bid past its gate), the sequence
    is accepted here on its own: an authentic request spends its sequence whatever its fate, and
    a replay or a revoked home or key is what the caller hears, as if checked first."""
    try:
        yield
    except RequestRefused:
        raise  # the write refused the request itself: nothing was accepted
    except Exception:
        await accept(request, signed)
        raise
    _mark_authenticated(request, signed)


def _mark_authenticated(request: web.Request, signed: SignedRequest) -> None:
    request[AUTHENTICATED_KEY] = signed.key.key_id  # the rate limiter charges only proven holders
