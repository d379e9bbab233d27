"""Ed25519 keys: generation, compact text encodings and key ids.

Public keys travel as unpadded base64url of the 32 raw bytes; a key id is the first 16 bytes of
SHA-256 over those raw bytes, in hex. Private keys are stored as base64url of the 32-byte seed.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gridcoop_home.protocol.errors import MALFORMED, ProtocolError


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as err:
        raise ProtocolError(MALFORMED, f"not valid base64url: {text[:20]!r}") from err


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_to_text(key: Ed25519PrivateKey) -> str:
    return b64url_encode(key.private_bytes_raw())


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ProtocolError(MALFORMED, "an Ed25519 private key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_to_text(key: Ed25519PublicKey) -> str:
    return b64url_encode(key.public_bytes_raw())


def public_key_from_text(text: str) -> Ed25519PublicKey:
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ProtocolError(MALFORMED, "an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id_of(public_key_text: str) -> str:
    return hashlib.sha256(b64url_decode(public_key_text)).hexdigest()[:32]


def public_text_of(key: Ed25519PrivateKey) -> str:
    return public_key_to_text(key.public_key())


def sign(key: Ed25519PrivateKey, data: bytes) -> str:
    return b64url_encode(key.sign(data))


def verify(public_key_text: str, data: bytes, signature_text: str) -> bool:
    """True when the signature is valid; never raises for a bad signature or a garbled key."""
    try:
        public_key_from_text(public_key_text).verify(b64url_decode(signature_text), data)
    except (InvalidSignature, ProtocolError, ValueError):
        return False
    return True


class SigningKey:
    """A private key with its public text and key id precomputed (what clients carry around)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public_text = public_text_of(private_key)
        self.key_id = key_id_of(self.public_text)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(generate_private_key())

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        return cls(private_key_from_text(text))

    def to_text(self) -> str:
        return private_key_to_text(self.private_key)

    def sign(self, data: bytes) -> str:
        return sign(self.private_key, data)
