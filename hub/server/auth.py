"""Authenticate a request signed with a home key (see hub.protocol.requests)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from hub.protocol import errors
from hub.protocol.errors import ProtocolError
from hub.protocol.freshness import check_timestamp
from hub.protocol.requests import parse_request_signature
from hub.server.context import CONFIG, STORE, now_ms
from hub.store.records import HomeRecord, KeyRecord

AUTHENTICATED_KEY = web.RequestKey("gridcoop_authenticated_key", str)


@dataclass(frozen=True, slots=True)
class Caller:
    home: HomeRecord
    key: KeyRecord
    body: bytes


async def authenticate(request: web.Request) -> Caller:
    """Check signature, key status, clock window and sequence; raise ProtocolError otherwise.

    The sequence is consumed last, after every other check passed, so a forged or stale request
    cannot burn a legitimate client's next sequence number.
    """
    store, config = request.app[STORE], request.app[CONFIG]
    signature = parse_request_signature(request.headers)
    body = await request.read()
    key = await store.get_key(signature.key_id)
    if key is None:
        raise ProtocolError(errors.UNKNOWN_KEY, f"key {signature.key_id} is not enrolled")
    if key.kind != "home":
        raise ProtocolError(errors.WRONG_KEY_KIND, "requests must be signed with the home key")
    if not signature.valid_for(key.public_key, request.method, request.path_qs, body):
        raise ProtocolError(errors.BAD_SIGNATURE, "request signature or content digest invalid")
    home = await store.get_home(key.home_id)
    if home is None or home.revoked:  # checked first: revoking a home revokes its keys too
        raise ProtocolError(errors.HOME_REVOKED, "this home has been revoked by the hub operator")
    if key.revoked:
        raise ProtocolError(errors.REVOKED_KEY, "this home key has been revoked")
    window = config.request_window_ms
    check_timestamp(now_ms(request.app), signature.ts_ms, window, window)
    if not await store.accept_sequence(key.key_id, signature.seq, "request"):
        raise ProtocolError(errors.REPLAY, f"request sequence {signature.seq} was already used")
    request[AUTHENTICATED_KEY] = key.key_id  # the rate limiter charges only proven holders
    return Caller(home=home, key=key, body=body)
