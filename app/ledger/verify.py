"""The ledger verifier: recompute everything from the rows and check every checkpoint.

It streams the events in order (flat memory), rebuilding each leaf from its columns, and
names the first bad entry when a row was altered, deleted, reordered or inserted out of band.
It also checks every checkpoint's signature, that each checkpoint's root equals the root
recomputed from the rows at that size, and that the stored tree nodes give the same roots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from app.ledger import tree
from app.ledger.appender import ledger_size
from app.ledger.canonical import canonical_record_bytes
from app.ledger.checkpoint import verify_checkpoint
from app.ledger.merkle import leaf_hash, root_hash, verify_consistency
from app.ledger.models import Checkpoint, ConsentEvent, LedgerVerification, MerkleNode
from app.ledger.proofs import consistency_proof, root_at, signed
from app.ledger.records import RECORD_COLUMNS, record_from_values
from app.models_base import utcnow
from app.services import runtime
from app.transaction import transaction

Progress = Callable[[int, int], None]


@dataclass
class VerificationResult:
    """The verifier's findings; ``ok`` only when nothing at all was wrong."""

    tree_size: int = 0
    checked: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def fail(self, message: str, seq: int | None = None) -> None:
        """Record a problem; the first one with a position names the first bad entry."""
        self.problems.append(message)
        if seq is not None and self.first_bad_seq is None:
            self.first_bad_seq = seq


def _event_rows(session: Session, batch: int):
    table = ConsentEvent.__table__.c
    columns = [
        *(table[name] for name in RECORD_COLUMNS),
        table.leaf_hash,
        MerkleNode.hash.label("node_hash"),
    ]
    query = (
        select(*columns)
        .outerjoin(MerkleNode, and_(MerkleNode.level == 0, MerkleNode.idx == ConsentEvent.seq))
        .order_by(ConsentEvent.seq)
        .execution_options(yield_per=batch)
    )
    return session.execute(query)


def _check_rows(session: Session, result: VerificationResult, checkpoints, progress, batch):
    rows = _event_rows(session, batch)
    try:
        _check_stream(rows, result, list(checkpoints), progress, batch)
    finally:
        rows.close()  # a server-side cursor must be closed when we stop early


def _check_stream(rows, result: VerificationResult, pending, progress, batch) -> None:
    stream = tree.StreamingRoot()
    expected = 0
    for row in rows:
        *values, stored_leaf, node = row  # RECORD_COLUMNS, then the two hashes (see _event_rows)
        seq = values[0]
        if seq != expected:
            what = "missing or deleted" if seq > expected else "duplicated or reordered"
            result.fail(f"entry {expected}: {what} (next row has seq {seq})", expected)
            return
        recomputed = leaf_hash(canonical_record_bytes(record_from_values(*values)))
        if recomputed != stored_leaf:
            result.fail(f"entry {seq} ({values[1]}): content altered since it was appended", seq)
        elif node != recomputed:
            result.fail(f"entry {seq}: tree node missing or altered (inserted out of band?)", seq)
        stream.append(recomputed)
        expected += 1
        while pending and pending[0].tree_size == expected:
            _check_root(result, pending.pop(0), stream.root(), expected)
        result.checked = expected
        if progress and expected % batch == 0:
            progress(expected, result.tree_size)
    if expected != result.tree_size:
        result.fail(
            f"entry {expected}: ledger head says {result.tree_size} events, rows end at {expected}",
            expected,
        )
    for cp in pending:
        if cp.tree_size == 0:
            _check_root(result, cp, root_hash([]), 0)
        else:
            result.fail(
                f"checkpoint #{cp.id} claims {cp.tree_size} events; only {expected} rows exist"
            )


def _check_root(result: VerificationResult, cp: Checkpoint, root: bytes, size: int) -> None:
    if cp.root_hash != root:
        result.fail(
            f"checkpoint #{cp.id} (size {size}) root differs from the rows: "
            f"an entry before {size} was changed",
            max(size - 1, 0),
        )


def _check_checkpoints(session: Session, result: VerificationResult, checkpoints) -> None:
    public_key = runtime().signing_key.public_key()
    previous = None
    for cp in checkpoints:
        if not verify_checkpoint(public_key, signed(cp)):
            result.fail(f"checkpoint #{cp.id}: signature does not verify")
        if cp.tree_size <= result.tree_size and root_at(session, cp.tree_size) != cp.root_hash:
            result.fail(f"checkpoint #{cp.id}: stored tree nodes give a different root")
        if previous is not None and previous.tree_size <= cp.tree_size <= result.tree_size:
            proof = consistency_proof(session, previous.tree_size, cp.tree_size)
            if not verify_consistency(
                previous.tree_size, cp.tree_size, previous.root_hash, cp.root_hash, proof
            ):
                result.fail(
                    f"checkpoints #{previous.id} → #{cp.id}: not consistent (history rewritten)"
                )
        previous = cp


def verify_ledger(
    session: Session, progress: Progress | None = None, batch: int = 10_000
) -> VerificationResult:
    """Verify the whole ledger; never raises on tampering, reports it."""
    result = VerificationResult(tree_size=ledger_size(session))
    checkpoints = list(
        session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size, Checkpoint.id))
    )
    result.checkpoints = len(checkpoints)
    _check_rows(session, result, checkpoints, progress, batch)
    _check_checkpoints(session, result, checkpoints)
    return result


def record_verification(
    session: Session, result: VerificationResult, actor: str
) -> LedgerVerification:
    """Store the outcome so the console can show the history (and a banner on failure)."""
    with transaction(session):
        row = LedgerVerification(
            finished_at=utcnow(),
            ok=result.ok,
            tree_size=result.tree_size,
            checked=result.checked,
            first_bad_seq=result.first_bad_seq,
            message="; ".join(result.problems[:5]) or "all checks passed",
            actor=actor,
        )
        session.add(row)
    return row
