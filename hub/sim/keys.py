"""Deterministic Ed25519 keys for the simulated homes and meters (the same seed, the same keys)."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridcoop_home.protocol.keys import SigningKey


def sim_key(seed: int, home_index: int, name: str) -> SigningKey:
    """`name` is "home" or a meter kind."""
    raw = hashlib.sha256(f"gridcoop-sim/{seed}/{home_index}/{name}".encode()).digest()
    return SigningKey(Ed25519PrivateKey.from_private_bytes(raw))
