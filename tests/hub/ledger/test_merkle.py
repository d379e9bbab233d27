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


# -- known answers ------------------------------------------------------------------------------
# Computed once outside this code, with coreutils (`printf '\x00entry 0' | sha256sum`, an inner
# node as sha256 over 0x01 + left + right): a change to the hashing, its prefixes or the order of
# a node's children changes these constants, whatever the code computes for itself.

LEAF_0 = "773885a613489e24ce2cf76199d6a423f042e4bbf12d7eecee912ef276c65701"
LEAF_1 = "2dfb36c6f66cac361429cf46df868ab8242d3a6441f1099c8fb3f98ec5d108a4"
LEAF_2 = "57c79f4f31ae029c5d4bd30b073c27c94df93438b2b4697e1e1eef5bc0394a41"
NODE_0_1 = "5a47662fd8a317d96049a3f9f47c55dc67ca66051baa3683dbb19b2fe09a07b0"
NODE_1_0 = "9474dd560541bf7432607b3367f9e810970e1777f5d00bfc15492d58c3a2bc02"
ROOT_OF_3 = "94fbd0dd836f50301692e6d0eade728ee19ec52bfff1606ed807c8575d5aaa19"
ROOT_OF_5 = "7caa345dbd892a66454d6c6512ea3c3ea3f0d3ec21be3fc2e2375705fd38f672"


def test_known_answer_leaf_hashes() -> None:
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert [leaf.hex() for leaf in leaves(3)] == [LEAF_0, LEAF_1, LEAF_2]


def test_known_answer_inner_node_hash_and_its_children_order() -> None:
    left, right = bytes.fromhex(LEAF_0), bytes.fromhex(LEAF_1)
    assert node_hash(left, right).hex() == NODE_0_1
    assert node_hash(right, left).hex() == NODE_1_0, "left child first, then right"


def test_known_answer_roots() -> None:
    assert merkle_root(leaves(2)).hex() == NODE_0_1
    assert merkle_root(leaves(3)).hex() == ROOT_OF_3
    assert merkle_root(leaves(5)).hex() == ROOT_OF_5


def test_known_answer_proof_leads_to_the_fixed_root() -> None:
    tree = leaves(5)
    proof = merkle_proof(tree, 2)  # leaf 2: its sibling leaf 3, then node(0, 1), then leaf 4
    assert proof[1].hex() == NODE_0_1
    assert root_from_proof(tree[2], 2, 5, proof) == bytes.fromhex(ROOT_OF_5)
    assert root_from_proof(tree[1], 1, 3, [tree[0], tree[2]]) == bytes.fromhex(ROOT_OF_3)
