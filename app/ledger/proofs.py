"""Checkpoints, inclusion and consistency proofs, and consent receipts from the stored tree."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.ledger import tree
from app.ledger.appender import ledger_size
from app.ledger.checkpoint import Checkpoint as SignedCheckpoint
from app.ledger.checkpoint import key_id, public_key_pem, sign_checkpoint
from app.ledger.models import Checkpoint, ConsentEvent, LedgerHead, Notice
from app.ledger.records import record_of
from app.ledger.writer import read_nodes
from app.models_base import utcnow
from app.runtime import runtime
from app.transaction import transaction

RECEIPT_FORMAT = "assenso-consent-receipt/1"


def b64(data: bytes) -> str:
    """Standard base64 text of ``data``."""
    return base64.b64encode(data).decode()


def _nodes(session: Session, ids: list[tree.NodeId]) -> dict[tree.NodeId, bytes]:
    return read_nodes(session.connection(), ids)


def root_at(session: Session, size: int) -> bytes:
    """The Merkle root of the first ``size`` leaves, from stored nodes (one query)."""
    return tree.assemble_root(size, _nodes(session, tree.root_node_ids(size)))


def signed(row: Checkpoint) -> SignedCheckpoint:
    """The stored checkpoint as the signed-note dataclass."""
    return SignedCheckpoint(
        origin=row.origin,
        tree_size=row.tree_size,
        root_hash=row.root_hash,
        timestamp=row.timestamp,
        key_id=row.key_id,
        signature=row.signature,
    )


def make_checkpoint(session: Session, *, only_if_grown: bool = False) -> Checkpoint | None:
    """Sign the current tree head and store it; with ``only_if_grown`` skip an unchanged tree."""
    rt = runtime()
    with transaction(session):
        # Lock the head row so the size and root describe the same tree.
        size = session.execute(
            select(LedgerHead.size).where(LedgerHead.id == 1).with_for_update()
        ).scalar_one()
        latest = latest_checkpoint(session)
        if only_if_grown and latest is not None and latest.tree_size == size:
            return None
        cp = sign_checkpoint(
            rt.signing_key, rt.ledger_origin, size, root_at(session, size), utcnow()
        )
        row = Checkpoint(
            origin=cp.origin,
            tree_size=cp.tree_size,
            root_hash=cp.root_hash,
            timestamp=cp.timestamp,
            key_id=cp.key_id,
            signature=cp.signature,
        )
        session.add(row)
    return row


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The most recent signed checkpoint."""
    return session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))


def checkpoint_covering(session: Session, seq: int) -> Checkpoint:
    """A checkpoint that includes leaf ``seq``, signing a new one when none does yet."""
    latest = latest_checkpoint(session)
    if latest is None or latest.tree_size <= seq:
        latest = make_checkpoint(session)
        assert latest is not None  # only `only_if_grown` skips signing
    return latest


def inclusion_proof(session: Session, seq: int, size: int) -> list[bytes]:
    """The inclusion proof of leaf ``seq`` in the tree of ``size`` leaves (one query)."""
    if not 0 <= seq < size <= ledger_size(session):
        raise InvalidInput("No such leaf in a tree of that size.")
    nodes = _nodes(session, tree.inclusion_node_ids(seq, size))
    return tree.assemble_inclusion_proof(seq, size, nodes)


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof between two tree sizes (one query)."""
    if not 0 <= old_size <= new_size <= ledger_size(session):
        raise InvalidInput("Both sizes must be within the ledger, the first not above the second.")
    nodes = _nodes(session, tree.consistency_node_ids(old_size, new_size))
    return tree.assemble_consistency_proof(old_size, new_size, nodes)


def public_checkpoint(session: Session) -> dict:
    """The latest checkpoint and public key, as served publicly."""
    rt = runtime()
    latest = latest_checkpoint(session)
    public_key = rt.signing_key.public_key()
    return {
        "origin": rt.ledger_origin,
        "key_id": key_id(public_key),
        "public_key_pem": public_key_pem(public_key),
        "checkpoint": signed(latest).to_dict() if latest else None,
    }


def receipt_for(session: Session, record_id: str, customer_ref: str | None = None) -> dict:
    """The consent receipt of one event: record, notice, inclusion proof, signed checkpoint."""
    event = session.scalar(select(ConsentEvent).where(ConsentEvent.record_id == record_id))
    if event is None or (customer_ref is not None and event.customer_ref != customer_ref):
        raise NotFound("No such consent record.")
    checkpoint = checkpoint_covering(session, event.seq)
    proof = inclusion_proof(session, event.seq, checkpoint.tree_size)
    notice = session.get(Notice, event.notice_id) if event.notice_id else None
    return {
        "receipt_format": RECEIPT_FORMAT,
        "record": record_of(event),
        "notice": _notice_dict(notice),
        "proof": {
            "leaf_index": event.seq,
            "tree_size": checkpoint.tree_size,
            "leaf_hash": b64(event.leaf_hash),
            "inclusion_proof": [b64(node) for node in proof],
        },
        "checkpoint": signed(checkpoint).to_dict(),
    }


def _notice_dict(notice: Notice | None) -> dict | None:
    if notice is None:
        return None
    return {
        "id": notice.id,
        "purpose": notice.purpose,
        "language": notice.language,
        "version": notice.version,
        "title": notice.title,
        "text": notice.text,
        "sha256": notice.sha256,
        "effective_at": _iso(notice.effective_at),
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
