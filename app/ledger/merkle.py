"""Pure RFC 9162 §2.1 Merkle tree hashing, proofs and proof verification.

This is the reference definition of the consent ledger's tree (identical to RFC 6962):

* leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``;
* the tree of ``n`` leaves splits at the largest power of two smaller than ``n``;
* the empty tree's root is ``SHA-256("")``.

A tree grows one leaf at a time through a :class:`Frontier`, the roots of its perfect
subtrees (O(log n) memory), which also names the perfect-subtree nodes each new leaf completes:
the appender stores those nodes, the verifier streams a whole ledger through one, and
:func:`root_hash` is built on it. Proof generation here works from the full list of leaf
hashes (O(n)); the live ledger builds the same proofs from stored nodes with
:mod:`app.ledger.tree`. The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 and answer
``False`` to any wrong or malformed input, never raising. No Flask, no database: usable by an
offline receipt verifier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

#: A perfect subtree ``(level, index, hash)``: leaves ``[index·2^level, (index+1)·2^level)``.
Node = tuple[int, int, bytes]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf's content: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node from its two children: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The split point ``k`` of RFC 9162: the largest power of two with ``k < n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(parts: Sequence[bytes]) -> bytes:
    """The root over adjacent perfect subtrees given left to right, each smaller than the last.

    RFC 9162's split makes every tree of ``n`` leaves the perfect subtrees of the set bits of
    ``n``, joined right to left: ``node_hash(p0, node_hash(p1, … p_last))``.
    """
    result = parts[-1]
    for left in reversed(parts[:-1]):
        result = node_hash(left, result)
    return result


class Frontier:
    """A tree grown one leaf at a time, holding only the roots of its perfect subtrees."""

    __slots__ = ("_parts", "size")

    def __init__(self, size: int = 0, parts: Sequence[bytes] = ()) -> None:
        """The tree of ``size`` leaves whose perfect subtrees (largest first) are ``parts``."""
        if size < 0 or len(parts) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} perfect subtrees")
        self.size = size
        self._parts = list(parts)

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Add the next leaf; the perfect-subtree nodes it completes, the leaf itself first."""
        index = self.size
        completed = [(0, index, leaf_hash)]
        digest, level, parts = leaf_hash, 0, self._parts
        while index & 1:
            digest = node_hash(parts.pop(), digest)
            level, index = level + 1, index >> 1
            completed.append((level, index, digest))
        parts.append(digest)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The Merkle tree hash of the leaves so far (``SHA-256("")`` when none)."""
        return subtree_root(self._parts) if self._parts else EMPTY_ROOT


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """The Merkle tree hash (root) of ``leaf_hashes``, in O(n) time and O(log n) memory."""
    frontier = Frontier()
    for leaf in leaf_hashes:
        frontier.append(leaf)
    return frontier.root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The audit path (RFC 9162 §2.1.3.1) proving leaf ``index`` is in the tree of ``leaf_hashes``.

    Raises ``ValueError`` when ``index`` is not a leaf of that tree.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + largest_power_of_two_below(hi - lo)
        if index < mid:
            path.append(root_hash(leaf_hashes[mid:hi]))
            hi = mid
        else:
            path.append(root_hash(leaf_hashes[lo:mid]))
            lo = mid
    path.reverse()
    return path


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The proof (RFC 9162 §2.1.4.1) that the first ``old_size`` leaves are a prefix of the tree.

    Empty when ``old_size`` is 0 or the whole tree; raises ``ValueError`` for an impossible size.
    """
    size = len(leaf_hashes)
    if not 0 <= old_size <= size:
        raise ValueError(f"old size {old_size} is outside a tree of {size} leaves")
    if old_size in (0, size):
        return []
    proof: list[bytes] = []
    lo, hi, whole = 0, size, True
    while hi - lo != old_size - lo:
        mid = lo + largest_power_of_two_below(hi - lo)
        if old_size <= mid:
            proof.append(root_hash(leaf_hashes[mid:hi]))
            hi = mid
        else:
            proof.append(root_hash(leaf_hashes[lo:mid]))
            lo, whole = mid, False
    if not whole:
        proof.append(root_hash(leaf_hashes[lo:hi]))
    proof.reverse()
    return proof


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_path(proof: object) -> bool:
    return isinstance(proof, list | tuple) and all(_is_hash(node) for node in proof)


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` puts ``leaf_hash`` at ``index`` in the tree of ``size`` with ``root``.

    RFC 9162 §2.1.3.2; ``False`` for any wrong or malformed input.
    """
    valid = _is_size(index) and _is_size(size) and index < size
    if not (valid and _is_hash(leaf_hash) and _is_hash(root) and _is_path(proof)):
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``old_root`` of ``old_size`` is a prefix of ``new_root``.

    RFC 9162 §2.1.4.2; the empty tree (root ``SHA-256("")``) is a prefix of every tree with an
    empty proof, equal sizes need equal roots and an empty proof. ``False`` for any wrong or
    malformed input.
    """
    sizes_ok = _is_size(old_size) and _is_size(new_size) and old_size <= new_size
    if not (sizes_ok and _is_hash(old_root) and _is_hash(new_root) and _is_path(proof)):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    return _walk_consistency(old_size - 1, new_size - 1, path, old_root, new_root)


def _walk_consistency(
    fn: int, sn: int, path: list[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """Steps 4 to 7 of RFC 9162 §2.1.4.2 from ``fn = old_size - 1`` and ``sn = new_size - 1``."""
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
