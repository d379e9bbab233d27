"""Merkle trees over a block's entries, with inclusion proofs a light client can check.

Leaves and inner nodes are hashed with different prefixes (0x00 / 0x01), so a leaf can never be
passed off as an inner node. A level with an odd count carries its last node up unchanged (it is
never paired with itself, which would let two different entry lists share a root). The root of
no entries is SHA-256 of the empty string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _next_level(level: Sequence[bytes]) -> list[bytes]:
    paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        paired.append(level[-1])
    return paired


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root over leaf hashes (see `leaf_hash`)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Sibling hashes from the leaf up; levels where the node is carried up add nothing."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of {len(leaves)}")
    proof: list[bytes] = []
    level = list(leaves)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        level = _next_level(level)
        index //= 2
    return proof


def root_from_proof(leaf: bytes, index: int, count: int, proof: Sequence[bytes]) -> bytes | None:
    """The root a proof leads to, or None when the proof does not fit a tree of `count` leaves."""
    if not 0 <= index < count:
        return None
    node, remaining = leaf, list(proof)
    while count > 1:
        if index % 2 == 0 and index == count - 1:
            pass  # the last node of an odd level is carried up unchanged
        elif not remaining:
            return None
        elif index % 2 == 0:
            node = node_hash(node, remaining.pop(0))
        else:
            node = node_hash(remaining.pop(0), node)
        index //= 2
        count = (count + 1) // 2
    return node if not remaining else None


def verify_proof(leaf: bytes, index: int, count: int, proof: Sequence[bytes], root: bytes) -> bool:
    return root_from_proof(leaf, index, count, proof) == root
