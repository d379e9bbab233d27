"""Signed HTTP requests, in the spirit of RFC 9421 (HTTP Message Signatures).

The home key signs a fixed list of components, one per line:

    gridcoop-request-v1
    <METHOD>
    <path and query>
    <Content-Digest header value: sha-256=:<base64 of SHA-256(body)>:>
    <key id>
    <sequence>
    <timestamp ms>

and sends them as headers. The hub checks the digest, the signature, that the sequence is above
the last accepted one for that key and that the timestamp is inside its window.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from gridcoop_home.protocol.envelope import MAX_SEQ
from gridcoop_home.protocol.errors import MALFORMED, UNAUTHENTICATED, ProtocolError
from gridcoop_home.protocol.keys import SigningKey, verify

HEADER_KEY_ID = "X-GridCoop-Key-Id"
HEADER_SEQ = "X-GridCoop-Seq"
HEADER_TIMESTAMP = "X-GridCoop-Timestamp"
HEADER_SIGNATURE = "X-GridCoop-Signature"
HEADER_DIGEST = "Content-Digest"
SIGNATURE_LABEL = "gridcoop-request-v1"


def content_digest(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def signature_base(
    method: str, path_qs: str, digest_header: str, key_id: str, seq: int, ts_ms: int
) -> bytes:
    lines = [SIGNATURE_LABEL, method.upper(), path_qs, digest_header, key_id, str(seq), str(ts_ms)]
    return "\n".join(lines).encode()


def sign_request(
    key: SigningKey, method: str, path_qs: str, body: bytes, seq: int, ts_ms: int
) -> dict[str, str]:
    digest_header = content_digest(body)
    base = signature_base(method, path_qs, digest_header, key.key_id, seq, ts_ms)
    return {
        HEADER_KEY_ID: key.key_id,
        HEADER_SEQ: str(seq),
        HEADER_TIMESTAMP: str(ts_ms),
        HEADER_DIGEST: digest_header,
        HEADER_SIGNATURE: key.sign(base),
    }


@dataclass(frozen=True, slots=True)
class RequestSignature:
    key_id: str
    seq: int
    ts_ms: int
    digest_header: str
    signature: str

    def valid_for(self, public_key_text: str, method: str, path_qs: str, body: bytes) -> bool:
        if content_digest(body) != self.digest_header:
            return False
        base = signature_base(
            method, path_qs, self.digest_header, self.key_id, self.seq, self.ts_ms
        )
        return verify(public_key_text, base, self.signature)


def parse_request_signature(headers: Mapping[str, str]) -> RequestSignature:
    names = (HEADER_KEY_ID, HEADER_SEQ, HEADER_TIMESTAMP, HEADER_DIGEST, HEADER_SIGNATURE)
    missing = [name for name in names if not headers.get(name)]
    if missing:
        raise ProtocolError(UNAUTHENTICATED, f"signed request headers missing: {missing}")
    try:
        seq = int(headers[HEADER_SEQ])
        ts_ms = int(headers[HEADER_TIMESTAMP])
    except ValueError as err:
        raise ProtocolError(MALFORMED, "sequence and timestamp headers must be integers") from err
    if not 0 <= seq <= MAX_SEQ:  # stored as a 64-bit integer (the timestamp is only compared)
        raise ProtocolError(MALFORMED, "sequence must be within 0-2^63-1")
    return RequestSignature(
        key_id=headers[HEADER_KEY_ID],
        seq=seq,
        ts_ms=ts_ms,
        digest_header=headers[HEADER_DIGEST],
        signature=headers[HEADER_SIGNATURE],
    )
