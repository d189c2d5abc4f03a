"""The stored-node Merkle tree gives exactly the reference tree's roots and proofs."""

from __future__ import annotations

import hashlib
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import merkle, tree


def _leaves(count: int, salt: int = 0) -> list[bytes]:
    return [merkle.leaf_hash(f"{salt}:{i}".encode()) for i in range(count)]


def _store_one_by_one(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Append leaf by leaf, storing every node each new leaf completes, like the appender."""
    store: dict[tuple[int, int], bytes] = {}
    frontier = merkle.Frontier()
    for leaf in leaves:
        for level, idx, digest in frontier.append(leaf):
            assert (level, idx) not in store, "a complete node is never rewritten"
            store[(level, idx)] = digest
    return store


def _store_in_batches(leaves: list[bytes], cuts: list[int]) -> dict[tuple[int, int], bytes]:
    """Append in batches, each resumed from only the frontier nodes of the tree so far."""
    store: dict[tuple[int, int], bytes] = {}
    bounds = sorted({0, len(leaves), *(cut for cut in cuts if cut < len(leaves))})
    for start, end in pairwise(bounds):
        frontier = tree.resume(start, {node: store[node] for node in tree.frontier_node_ids(start)})
        for leaf in leaves[start:end]:
            for level, idx, digest in frontier.append(leaf):
                store[(level, idx)] = digest
    return store


def _only(store: dict, ids: list[tuple[int, int]]) -> dict:
    """The nodes the plan asked for, so assembling cannot peek at anything else."""
    return {node: store[node] for node in ids}


def test_node_levels_cover_power_of_two_leaf_ranges():
    """Node (l, k) is the RFC 9162 hash of leaves [k·2^l, (k+1)·2^l)."""
    leaves = _leaves(13)
    store = _store_one_by_one(leaves)
    for (level, idx), digest in store.items():
        width = 1 << level
        assert digest == merkle.root_hash(leaves[idx * width : (idx + 1) * width])
    assert len(store) == 13 + 6 + 3 + 1


def test_appending_resumes_from_the_frontier_alone():
    """Appending leaf 7 needs the three perfect subtrees of the first 7 leaves, nothing more."""
    leaves = _leaves(8)
    store = _store_one_by_one(leaves[:7])
    needed = tree.frontier_node_ids(7)
    assert needed == [(2, 0), (1, 2), (0, 6)]
    frontier = tree.resume(7, {node: store[node] for node in needed})
    completed = frontier.append(leaves[7])
    assert [(lvl, i) for lvl, i, _ in completed] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert completed[-1][2] == merkle.root_hash(leaves)


def test_plans_are_logarithmic_for_a_million_leaves():
    """A proof in a tree of a million leaves needs only a few dozen stored nodes."""
    size = 1_000_000
    assert len(tree.root_node_ids(size)) == bin(size).count("1")
    assert len(tree.inclusion_node_ids(123_456, size)) <= 2 * 20
    assert len(tree.consistency_node_ids(654_321, size)) <= 3 * 20


def test_empty_tree_root_and_missing_nodes():
    """The empty tree has the empty-string root; a missing stored node is a lookup error."""
    assert tree.assemble_root(0, {}) == hashlib.sha256(b"").digest()
    with pytest.raises(LookupError, match="not stored"):
        tree.assemble_root(3, {(1, 0): b"\0" * 32})
    with pytest.raises(LookupError, match="not stored"):
        tree.resume(3, {})


def test_impossible_positions_are_refused():
    """Plans for leaves or sizes outside the tree are caller errors."""
    with pytest.raises(ValueError, match="outside"):
        tree.inclusion_node_ids(5, 5)
    with pytest.raises(ValueError, match="old size"):
        tree.consistency_node_ids(6, 5)
    with pytest.raises(ValueError, match="negative"):
        tree.root_node_ids(-1)


sizes = st.integers(min_value=1, max_value=3000)


@settings(max_examples=15, deadline=None)
@given(size=sizes, salt=st.integers(0, 1000), data=st.data())
def test_stored_tree_matches_reference(size, salt, data):
    """Roots and proofs from stored nodes equal merkle.py's, whether appended singly or in bulk."""
    leaves = _leaves(size, salt)
    cuts = data.draw(st.lists(st.integers(1, size), max_size=5))
    single, batched = _store_one_by_one(leaves), _store_in_batches(leaves, cuts)
    assert single == batched
    for _ in range(5):
        index = data.draw(st.integers(0, size - 1))
        tree_size = data.draw(st.integers(index + 1, size))
        ids = tree.inclusion_node_ids(index, tree_size)
        got = tree.assemble_inclusion_proof(index, tree_size, _only(single, ids))
        assert got == merkle.inclusion_proof(index, leaves[:tree_size])
        old_size = data.draw(st.integers(0, tree_size))
        ids = tree.consistency_node_ids(old_size, tree_size)
        got = tree.assemble_consistency_proof(old_size, tree_size, _only(single, ids))
        assert got == merkle.consistency_proof(old_size, leaves[:tree_size])
        ids = tree.root_node_ids(tree_size)
        assert tree.assemble_root(tree_size, _only(single, ids)) == merkle.root_hash(
            leaves[:tree_size]
        )


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 300), salt=st.integers(0, 1000))
def test_the_frontier_reports_every_intermediate_root_and_node(size, salt):
    """The frontier's roots and completed nodes match the reference at every size."""
    leaves = _leaves(size, salt)
    frontier = merkle.Frontier()
    assert frontier.root() == merkle.root_hash([])
    reported = {}
    for count, leaf in enumerate(leaves, start=1):
        for level, idx, digest in frontier.append(leaf):
            reported[(level, idx)] = digest
        assert frontier.size == count
        assert frontier.root() == merkle.root_hash(leaves[:count])
    for (level, idx), digest in reported.items():
        width = 1 << level
        assert digest == merkle.root_hash(leaves[idx * width : (idx + 1) * width])


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 300), cut=st.integers(0, 300))
def test_a_frontier_resumes_from_stored_nodes(size, cut):
    """Resuming at any size from its stored frontier continues to the same root."""
    leaves = _leaves(size)
    cut = min(cut, size)
    store = _store_one_by_one(leaves[:cut])
    frontier = tree.resume(cut, {n: store[n] for n in tree.frontier_node_ids(cut)})
    for leaf in leaves[cut:]:
        frontier.append(leaf)
    assert frontier.root() == merkle.root_hash(leaves)
