"""Merkle roots and inclusion proofs, for every leaf of trees with odd and even counts."""

from __future__ import annotations

import hashlib

import pytest
from gridcoop_home.ledger.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    merkle_proof,
    merkle_root,
    node_hash,
    root_from_proof,
    verify_proof,
)
from hypothesis import given
from hypothesis import strategies as st


def leaves(count: int) -> list[bytes]:
    return [leaf_hash(f"entry {i}".encode()) for i in range(count)]


def test_the_root_of_no_entries_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_one_entry_is_its_own_root() -> None:
    assert merkle_root(leaves(1)) == leaves(1)[0]


def test_three_entries_pair_the_first_two_and_carry_the_third_up() -> None:
    a, b, c = leaves(3)
    assert merkle_root([a, b, c]) == node_hash(node_hash(a, b), c)


def test_leaves_and_inner_nodes_are_hashed_apart() -> None:
    a, b = leaves(2)
    # A leaf whose data is the concatenation of two hashes is not their inner node.
    assert leaf_hash(a + b) != node_hash(a, b)


def test_duplicating_the_last_entry_changes_the_root() -> None:
    three = leaves(3)
    assert merkle_root(three) != merkle_root([*three, three[-1]])


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 33])
def test_every_leaf_has_a_proof_that_leads_to_the_root(count: int) -> None:
    tree = leaves(count)
    root = merkle_root(tree)
    for index, leaf in enumerate(tree):
        assert verify_proof(leaf, index, count, merkle_proof(tree, index), root)


@pytest.mark.parametrize("count", [2, 3, 5, 8])
def test_a_proof_fails_for_another_leaf_position_or_count(count: int) -> None:
    tree = leaves(count)
    root = merkle_root(tree)
    proof = merkle_proof(tree, 1)
    assert not verify_proof(tree[0], 1, count, proof, root)  # wrong leaf
    assert not verify_proof(tree[1], 0, count, proof, root)  # wrong position
    assert root_from_proof(tree[1], count, count, proof) is None  # position out of range
    last = merkle_proof(tree, count - 1)
    assert not verify_proof(tree[-1], count - 1, count + 1, last, root)  # the path needs the count


def test_a_proof_with_an_altered_or_extra_sibling_fails() -> None:
    tree = leaves(5)
    root = merkle_root(tree)
    proof = merkle_proof(tree, 2)
    assert not verify_proof(tree[2], 2, 5, [proof[0][::-1], *proof[1:]], root)
    assert not verify_proof(tree[2], 2, 5, [*proof, proof[0]], root)
    assert not verify_proof(tree[2], 2, 5, proof[:-1], root)


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=40), st.data())
def test_property_any_leaf_of_any_tree_is_provable(items: list[bytes], data: st.DataObject) -> None:
    tree = [leaf_hash(item) for item in items]
    index = data.draw(st.integers(0, len(tree) - 1))
    assert verify_proof(tree[index], index, len(tree), merkle_proof(tree, index), merkle_root(tree))
