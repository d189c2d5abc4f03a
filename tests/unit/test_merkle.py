"""RFC 9162 Merkle tree: published conformance vectors and properties of proofs."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import merkle

#: The published vectors, copied into the repository with their licence and source commit.
CONFORMANCE_DIR = Path(__file__).resolve().parents[1] / "vectors" / "rfc9162"


def _vector_files(kind: str) -> list[Path]:
    """Every vector of ``kind``; just the folder itself when none are found, so the test fails."""
    return sorted((CONFORMANCE_DIR / kind).rglob("*.json")) or [CONFORMANCE_DIR / kind]


def _vector_id(path: Path) -> str:
    return path.relative_to(CONFORMANCE_DIR).as_posix()


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _load(path: Path) -> dict:
    if not path.is_file():
        pytest.fail(f"RFC 9162 conformance vectors not found under {path}")
    return json.loads(path.read_text())


def _proof(vector: dict) -> list[bytes]:
    return [_b64(node) for node in vector["proof"] or []]


INCLUSION_VECTORS = _vector_files("inclusion")
CONSISTENCY_VECTORS = _vector_files("consistency")


def test_conformance_vectors_are_present():
    """A missing vector folder must fail loudly, never pass by testing nothing."""
    assert CONFORMANCE_DIR.is_dir(), f"RFC 9162 conformance vectors not found at {CONFORMANCE_DIR}"
    assert (CONFORMANCE_DIR / "LICENSE").is_file(), "the vectors' licence must travel with them"
    for kind in ("inclusion", "consistency"):
        found = list((CONFORMANCE_DIR / kind).rglob("*.json"))
        assert found, f"no {kind} vectors under {CONFORMANCE_DIR / kind}"


@pytest.mark.parametrize("path", INCLUSION_VECTORS, ids=_vector_id)
def test_inclusion_vector(path: Path):
    """Each inclusion vector is accepted exactly when it is not marked ``wantErr``."""
    vector = _load(path)
    verified = merkle.verify_inclusion(
        vector["leafIdx"],
        vector["treeSize"],
        _b64(vector["leafHash"]),
        _proof(vector),
        _b64(vector["root"]),
    )
    assert verified is not vector["wantErr"], vector["desc"]


@pytest.mark.parametrize("path", CONSISTENCY_VECTORS, ids=_vector_id)
def test_consistency_vector(path: Path):
    """Each consistency vector is accepted exactly when it is not marked ``wantErr``."""
    vector = _load(path)
    verified = merkle.verify_consistency(
        vector["size1"],
        vector["size2"],
        _b64(vector["root1"]),
        _b64(vector["root2"]),
        _proof(vector),
    )
    assert verified is not vector["wantErr"], vector["desc"]


def test_hashes_follow_rfc9162_prefixes():
    """Leaves and nodes are domain-separated; the empty tree hashes the empty string."""
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.root_hash([]) == hashlib.sha256(b"").digest()


def test_root_of_known_tree():
    """The root of the RFC 6962 reference tree of 8 leaves (from the Go and C++ test suites)."""
    leaves = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    root = merkle.root_hash([merkle.leaf_hash(leaf) for leaf in leaves])
    assert root.hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_root_of_a_large_odd_tree_is_iterative():
    """A large root needs no recursion (no recursion limit, odd sizes included)."""
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(1 << 17)]
    leaves.append(leaves[0])
    assert len(merkle.root_hash(leaves)) == 32


def _textbook_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH written as the RFC states it, recursively (an independent oracle)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    left, right = _textbook_root(leaves[:k]), _textbook_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_root_and_frontier_equal_the_rfc_definition_at_every_size():
    """The frontier's root after each leaf, and root_hash, equal MTH of the leaves so far."""
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    frontier = merkle.Frontier()
    for size in range(len(leaves) + 1):
        assert frontier.size == size
        assert frontier.root() == merkle.root_hash(leaves[:size]) == _textbook_root(leaves[:size])
        if size < len(leaves):
            frontier.append(leaves[size])


def test_a_frontier_needs_one_hash_per_set_bit_of_its_size():
    """Resuming a tree of 6 leaves takes its two perfect subtrees, no more and no fewer."""
    with pytest.raises(ValueError, match="2 perfect subtrees"):
        merkle.Frontier(6, [b"\0" * 32])
    with pytest.raises(ValueError):
        merkle.Frontier(-1)


@pytest.mark.parametrize(
    ("index", "size", "leaf", "proof", "root"),
    [
        (-1, 1, b"\0" * 32, [], b"\0" * 32),
        (1, 1, b"\0" * 32, [], b"\0" * 32),
        (0, 0, b"\0" * 32, [], b"\0" * 32),
        (True, 2, b"\0" * 32, [b"\0" * 32], b"\0" * 32),
        ("0", 1, b"\0" * 32, [], b"\0" * 32),
        (0, 1, "00" * 16, [], b"\0" * 32),
        (0, 2, b"\0" * 32, [b"\0" * 31], b"\0" * 32),
        (0, 2, b"\0" * 32, None, b"\0" * 32),
        (0, 2, b"\0" * 32, [None], b"\0" * 32),
        (0, 1, b"\0" * 32, [], None),
    ],
)
def test_inclusion_verifier_rejects_malformed_input(index, size, leaf, proof, root):
    """Garbage of any kind is a failed verification, never an exception."""
    assert merkle.verify_inclusion(index, size, leaf, proof, root) is False


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof"),
    [
        (2, 1, b"\0" * 32, b"\0" * 32, []),
        (-1, 1, b"\0" * 32, b"\0" * 32, []),
        (1, 1, b"\0" * 32, b"\1" * 32, []),
        (1, 1, b"\0" * 32, b"\0" * 32, [b"\0" * 32]),
        (0, 3, b"\0" * 32, b"\0" * 32, [b"\0" * 32]),
        (1, 2, b"\0" * 32, b"\0" * 32, []),
        (1, 2, b"\0" * 32, b"\0" * 32, "proof"),
        (1, 2, b"short", b"\0" * 32, [b"\0" * 32]),
        (1.0, 2, b"\0" * 32, b"\0" * 32, [b"\0" * 32]),
    ],
)
def test_consistency_verifier_rejects_malformed_input(old, new, old_root, new_root, proof):
    """Garbage of any kind is a failed verification, never an exception."""
    assert merkle.verify_consistency(old, new, old_root, new_root, proof) is False


def test_the_empty_tree_is_a_prefix_of_every_tree():
    """Size 0 proves with an empty proof, but only with the empty tree's root."""
    root = merkle.root_hash([merkle.leaf_hash(b"a")])
    assert merkle.verify_consistency(0, 1, merkle.root_hash([]), root, [])
    assert not merkle.verify_consistency(0, 1, root, root, [])


def test_proof_builders_refuse_impossible_positions():
    """Asking for a leaf or size outside the tree is a caller error."""
    leaves = [merkle.leaf_hash(b"a")]
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_proof(1, leaves)
    with pytest.raises(ValueError, match="outside"):
        merkle.consistency_proof(2, leaves)


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=40).map(
    lambda items: [merkle.leaf_hash(item) for item in items]
)


def _flip(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return bytes(flipped)


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_inclusion_proof_verifies_and_any_flipped_bit_fails(leaves, data):
    """Proofs built from the leaves verify; one flipped bit of proof or root breaks them."""
    size, root = len(leaves), merkle.root_hash(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(index, leaves)
        assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(index, leaves)
    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_inclusion(index, size, leaves[index], proof, _flip(root, bit))
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        proof[which] = _flip(proof[which], bit)
        assert not merkle.verify_inclusion(index, size, leaves[index], proof, root)


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_consistency_proof_verifies_and_any_flipped_bit_fails(leaves, data):
    """Every older size is provably a prefix; one flipped bit breaks a non-trivial proof."""
    new_size, new_root = len(leaves), merkle.root_hash(leaves)
    for old_size in range(new_size + 1):
        old_root = merkle.root_hash(leaves[:old_size])
        proof = merkle.consistency_proof(old_size, leaves)
        assert merkle.verify_consistency(old_size, new_size, old_root, new_root, proof)
    old_size = data.draw(st.integers(1, new_size))
    old_root = merkle.root_hash(leaves[:old_size])
    proof = merkle.consistency_proof(old_size, leaves)
    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_consistency(old_size, new_size, _flip(old_root, bit), new_root, proof)
    assert not merkle.verify_consistency(old_size, new_size, old_root, _flip(new_root, bit), proof)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        proof[which] = _flip(proof[which], bit)
        assert not merkle.verify_consistency(old_size, new_size, old_root, new_root, proof)


@settings(max_examples=40, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_proof_for_one_leaf_does_not_prove_another(leaves, data):
    """A valid proof does not prove a different leaf at that index."""
    size, root = len(leaves), merkle.root_hash(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(index, leaves)
    other = data.draw(st.integers(0, size - 1))
    if leaves[other] != leaves[index]:
        assert not merkle.verify_inclusion(index, size, leaves[other], proof, root)
