"""The ledger's stored Merkle tree: perfect-subtree nodes, appends, and proofs from nodes.

The database keeps one row per complete perfect subtree, keyed ``(level, idx)``: level 0 holds
the leaf hashes and node ``(l, k)`` covers leaves ``[k·2^l, (k+1)·2^l)``. A node never changes
once complete, so the table is append-only like the ledger itself.

Every hash of RFC 9162 (a root, an audit-path entry, a consistency-proof entry) is the hash
of a leaf range ``[lo, hi)`` that splits into a few stored perfect subtrees (one per set bit
of ``hi - lo``). So each query comes in two steps: ``*_node_ids`` plans which nodes are needed
(the caller fetches them in one database query), ``assemble_*`` folds them into the answer
with :func:`app.ledger.merkle.subtree_root`. Results equal :mod:`app.ledger.merkle` exactly.
Pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.ledger.merkle import EMPTY_ROOT, Frontier, largest_power_of_two_below, subtree_root

NodeId = tuple[int, int]
Span = tuple[int, int]


def perfect_subtrees(lo: int, hi: int) -> list[NodeId]:
    """The stored nodes making up the RFC 9162 subtree over leaves ``[lo, hi)``, left to right.

    ``lo`` must be a multiple of the largest power of two not above ``hi - lo``, which holds
    for every subtree RFC 9162 ever hashes.
    """
    ids: list[NodeId] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        ids.append((level, lo >> level))
        lo += 1 << level
    return ids


def _span_hash(span: Span, nodes: Mapping[NodeId, bytes]) -> bytes:
    try:
        return subtree_root([nodes[node_id] for node_id in perfect_subtrees(*span)])
    except KeyError as missing:
        raise LookupError(f"Merkle node {missing.args[0]} is not stored") from None


def _needed(spans: Iterable[Span]) -> list[NodeId]:
    return [node_id for span in spans for node_id in perfect_subtrees(*span)]


def inclusion_spans(index: int, size: int) -> list[Span]:
    """The leaf ranges whose hashes form the audit path of leaf ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    spans: list[Span] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + largest_power_of_two_below(hi - lo)
        if index < mid:
            spans.append((mid, hi))
            hi = mid
        else:
            spans.append((lo, mid))
            lo = mid
    spans.reverse()
    return spans


def consistency_spans(old_size: int, new_size: int) -> list[Span]:
    """The leaf ranges whose hashes form the consistency proof from ``old_size`` to ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"sizes {old_size} → {new_size}: need 0 <= old size <= new size")
    if old_size in (0, new_size):
        return []
    spans: list[Span] = []
    lo, hi, whole = 0, new_size, True
    while hi != old_size:
        mid = lo + largest_power_of_two_below(hi - lo)
        if old_size <= mid:
            spans.append((mid, hi))
            hi = mid
        else:
            spans.append((lo, mid))
            lo, whole = mid, False
    if not whole:
        spans.append((lo, hi))
    spans.reverse()
    return spans


def root_node_ids(size: int) -> list[NodeId]:
    """The stored nodes needed for the root of the first ``size`` leaves (one per set bit)."""
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    return perfect_subtrees(0, size)


def assemble_root(size: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    """The root of the first ``size`` leaves from the nodes named by :func:`root_node_ids`."""
    return _span_hash((0, size), nodes) if size else EMPTY_ROOT


def inclusion_node_ids(index: int, size: int) -> list[NodeId]:
    """The stored nodes needed for the inclusion proof of leaf ``index`` in a tree of ``size``."""
    return _needed(inclusion_spans(index, size))


def assemble_inclusion_proof(index: int, size: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in a tree of ``size`` from the planned nodes."""
    return [_span_hash(span, nodes) for span in inclusion_spans(index, size)]


def consistency_node_ids(old_size: int, new_size: int) -> list[NodeId]:
    """The stored nodes needed for the consistency proof from ``old_size`` to ``new_size``."""
    return _needed(consistency_spans(old_size, new_size))


def assemble_consistency_proof(
    old_size: int, new_size: int, nodes: Mapping[NodeId, bytes]
) -> list[bytes]:
    """The consistency proof from ``old_size`` to ``new_size`` from the planned nodes."""
    return [_span_hash(span, nodes) for span in consistency_spans(old_size, new_size)]


def frontier_node_ids(size: int) -> list[NodeId]:
    """The stored nodes a tree of ``size`` leaves grows from: its perfect subtrees."""
    return root_node_ids(size)


def resume(size: int, nodes: Mapping[NodeId, bytes]) -> Frontier:
    """The :class:`~app.ledger.merkle.Frontier` of the first ``size`` leaves from the nodes
    named by :func:`frontier_node_ids`."""
    try:
        return Frontier(size, [nodes[node_id] for node_id in frontier_node_ids(size)])
    except KeyError as missing:
        raise LookupError(f"frontier node {missing.args[0]} is not stored") from None
