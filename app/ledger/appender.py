"""Appending consent events: one leaf at a time or in bulk, with the stored Merkle nodes.

Each append first increments ``ledger_head.size`` (a write, so concurrent appenders queue on
that row in PostgreSQL and on the write lock in SQLite), then inserts the event row and the
perfect-subtree nodes the new leaf completes. No full-tree recomputation ever happens.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import TextClause, bindparam, event, select, text, update
from sqlalchemy.orm import Session

from app.ledger import tree
from app.ledger.canonical import canonical_bytes
from app.ledger.merkle import leaf_hash
from app.ledger.models import ConsentEvent, LedgerHead, MerkleNode
from app.ledger.records import ACTIONS, LAWFUL_BASES, METHODS, SOURCES, record_of
from app.models_base import utcnow


class LedgerError(ValueError):
    """An event draft is not a valid consent record."""


@dataclass
class EventDraft:
    """Everything a consent event records; ``seq`` and ``leaf_hash`` are set on append."""

    customer_ref: str
    purpose: str
    channel: str
    action: str
    lawful_basis: str
    method: str
    source: str
    actor: str
    jurisdiction: str
    language: str
    notice_id: int | None = None
    notice_version: int | None = None
    notice_hash: str | None = None
    reason: str | None = None
    expires_at: datetime | None = None
    evidence: bytes | None = None
    event_time: datetime = field(default_factory=utcnow)
    record_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = -1

    def check(self) -> None:
        """Refuse drafts with unknown vocabulary or a staff action without a reason."""
        for name, allowed in (
            ("action", ACTIONS),
            ("method", METHODS),
            ("source", SOURCES),
            ("lawful_basis", LAWFUL_BASES),
        ):
            if getattr(self, name) not in allowed:
                raise LedgerError(f"unknown {name} {getattr(self, name)!r}")
        if self.source == "staff" and not (self.reason and self.reason.strip()):
            raise LedgerError("staff acting on a customer's behalf must give a reason")


# Statements of the hot path, built once (building them per call costs more than running them).
_HEAD = LedgerHead.__table__
_RESERVE = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(size=_HEAD.c.size + bindparam("count"))
    .returning(_HEAD.c.size)
)
_INSERT_EVENTS = ConsentEvent.__table__.insert()
_INSERT_NODES = MerkleNode.__table__.insert()


def _reserve(connection, count: int) -> int:
    """Advance the ledger size by ``count``; returns the first new leaf index."""
    return connection.execute(_RESERVE, {"count": count}).scalar_one() - count


_NODE_QUERIES: dict[int, TextClause] = {}


def _nodes_query(count: int) -> TextClause:
    """``SELECT`` of ``count`` (level, idx) nodes by primary key, built once per count.

    A disjunction of point lookups: both engines answer each term from the primary key (a
    row-value ``IN`` list is not index-assisted on SQLite), and reusing one statement per count
    keeps SQLAlchemy's compiled cache warm (building the clause anew per proof cost more than
    running it).
    """
    query = _NODE_QUERIES.get(count)
    if query is None:
        terms = " OR ".join(f"(level = :l{i} AND idx = :x{i})" for i in range(count))
        query = text(f"SELECT level, idx, hash FROM merkle_nodes WHERE {terms}")
        _NODE_QUERIES[count] = query
    return query


def _fetch_nodes(session: Session, ids: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the given (level, idx) nodes, in one query."""
    if not ids:
        return {}
    params = {}
    for i, (level, idx) in enumerate(ids):
        params[f"l{i}"], params[f"x{i}"] = level, idx
    rows = session.execute(_nodes_query(len(ids)), params)
    return {(level, idx): bytes(digest) for level, idx, digest in rows}


# The frontier after the last committed append of this process, per database. Stored nodes
# never change, so the frontier of a given size is the same whoever appended; it is promoted
# only when the appending transaction commits and dropped on rollback.
_frontiers: dict[str, tree.StreamingRoot] = {}
_PENDING = "assenso.ledger.pending_frontier"


@event.listens_for(Session, "after_commit")
def _promote_frontier(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        _frontiers[pending[0]] = pending[1]


@event.listens_for(Session, "after_rollback")
def _drop_frontier(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        _frontiers.pop(pending[0], None)


def _stream_at(session: Session, connection, start: int) -> tree.StreamingRoot:
    """A streaming tree positioned at ``start`` leaves (cached, else from stored nodes)."""
    key = str(connection.engine.url)
    cached = _frontiers.pop(key, None)
    if cached is not None and cached.size == start:
        return cached
    frontier = _fetch_nodes(session, tree.frontier_node_ids(start))
    return tree.StreamingRoot.resume(start, frontier)


def _event_row(draft: EventDraft) -> dict:
    return {
        "seq": draft.seq,
        "record_id": draft.record_id,
        "customer_ref": draft.customer_ref,
        "purpose": draft.purpose,
        "channel": draft.channel,
        "action": draft.action,
        "lawful_basis": draft.lawful_basis,
        "notice_id": draft.notice_id,
        "notice_version": draft.notice_version,
        "notice_hash": draft.notice_hash,
        "method": draft.method,
        "source": draft.source,
        "actor": draft.actor,
        "reason": draft.reason,
        "jurisdiction": draft.jurisdiction,
        "language": draft.language,
        "event_time": draft.event_time,
        "expires_at": draft.expires_at,
        "evidence": draft.evidence,
    }


def append_events(session: Session, drafts: Sequence[EventDraft]) -> list[dict]:
    """Append ``drafts`` as consecutive leaves (in the caller's transaction).

    Works for one event and for bulk imports alike: only the O(log n) frontier nodes are read,
    and not even those when this process made the previous append.
    """
    if not drafts:
        return []
    for draft in drafts:
        draft.check()
    connection = session.connection()
    start = _reserve(connection, len(drafts))
    stream = _stream_at(session, connection, start)
    rows, nodes = [], []
    for offset, draft in enumerate(drafts):
        draft.seq = start + offset
        row = _event_row(draft)
        row["leaf_hash"] = leaf_hash(canonical_bytes(record_of(draft)))
        rows.append(row)
        nodes.extend(stream.append(row["leaf_hash"]))
    connection.execute(_INSERT_EVENTS, rows)
    connection.execute(
        _INSERT_NODES,
        [{"level": lvl, "idx": idx, "hash": digest} for lvl, idx, digest in nodes],
    )
    session.info[_PENDING] = (str(connection.engine.url), stream)
    return rows


def ledger_size(session: Session) -> int:
    """The number of events in the ledger."""
    return session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1)) or 0
