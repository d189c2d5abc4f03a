"""Appending consent events: one leaf at a time or in bulk, with the stored Merkle nodes.

Each append first increments ``ledger_head.size`` (a write, so concurrent appenders queue on
that row in PostgreSQL and on the write lock in SQLite), then inserts the event row and the
perfect-subtree nodes the new leaf completes. No full-tree recomputation ever happens.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from itertools import product

from sqlalchemy import TextClause, bindparam, event, select, text, update
from sqlalchemy.orm import Session

from app.ledger import tree
from app.ledger.canonical import canonical_bytes
from app.ledger.merkle import leaf_hash
from app.ledger.models import LedgerHead
from app.ledger.records import (
    ACTIONS,
    LAWFUL_BASES,
    METHODS,
    RECORD_COLUMNS,
    SOURCES,
    record_of,
)
from app.ledger.row_bytes import record_bytes
from app.models_base import utcnow


class LedgerError(ValueError):
    """An event draft is not a valid consent record."""


def new_record_id() -> str:
    """A new record id: a UUIDv7 (RFC 9562 §5.7), random but ordered by creation time.

    Time-ordered ids keep the unique index on record ids growing at its right edge, so an
    append dirties one index page instead of a random one (random UUIDv4 ids made every bulk
    commit rewrite thousands of scattered pages). The time in it is the event's own.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant 10
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


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
    record_id: str = field(default_factory=lambda: new_record_id())
    seq: int = -1

    def check(self) -> None:
        """Refuse drafts with unknown vocabulary or a staff action without a reason."""
        try:
            known = (self.action, self.method, self.source, self.lawful_basis) in _KNOWN
        except TypeError:  # an unhashable value: certainly not a known word
            known = False
        if not known:
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


# Every valid (action, method, source, lawful basis): one set lookup checks a draft.
_KNOWN = frozenset(product(ACTIONS, METHODS, SOURCES, LAWFUL_BASES))


# Statements of the hot path, built once (building them per call costs more than running them).
_HEAD = LedgerHead.__table__
_RESERVE = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(size=_HEAD.c.size + bindparam("count"))
    .returning(_HEAD.c.size)
)


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
PENDING_FRONTIER = "assenso.ledger.pending_frontier"


@event.listens_for(Session, "after_commit")
def _promote_frontier(session: Session) -> None:
    pending = session.info.pop(PENDING_FRONTIER, None)
    if pending is not None:
        _frontiers[pending[0]] = pending[1]


@event.listens_for(Session, "after_rollback")
def _drop_frontier(session: Session) -> None:
    pending = session.info.pop(PENDING_FRONTIER, None)
    if pending is not None:
        _frontiers.pop(pending[0], None)


def stream_at(
    key: str, start: int, fetch: Callable[[Sequence[tuple[int, int]]], dict]
) -> tree.StreamingRoot:
    """A streaming tree positioned at ``start`` leaves: this process's cached frontier for the
    database ``key`` if it is at that size, else one resumed from the stored nodes ``fetch``
    reads. The cached frontier is taken out: whoever appends puts it back after committing."""
    cached = _frontiers.pop(key, None)
    if cached is not None and cached.size == start:
        return cached
    return tree.StreamingRoot.resume(start, fetch(tree.frontier_node_ids(start)))


def keep_frontier(key: str, stream: tree.StreamingRoot) -> None:
    """Cache ``stream`` as the committed frontier of database ``key``."""
    _frontiers[key] = stream


EVENT_COLUMNS = (*RECORD_COLUMNS, "leaf_hash")
NODE_COLUMNS = ("level", "idx", "hash")
# Positions 16 and 17 of a record's values are its two timestamps.
assert RECORD_COLUMNS[16:18] == ("event_time", "expires_at")
_DRIVER_INSERTS: dict[tuple[str, str, str], str] = {}


def driver_insert(dialect, table: str, columns: Sequence[str], suffix: str = "") -> str:
    """``INSERT`` text in the driver's own parameter style, built once per dialect and table."""
    key = (dialect.name, table, suffix)
    sql = _DRIVER_INSERTS.get(key)
    if sql is None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))}){suffix}"
        )
        _DRIVER_INSERTS[key] = sql
    return sql


def _sqlite_time(moment: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    if moment is None:
        return None
    offset = moment.utcoffset()
    if offset is None:
        raise LedgerError("naive datetimes are not recorded; use an aware UTC datetime")
    if offset:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat pads years differently; let the slow path decide
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    return moment.isoformat(" ", "microseconds")[:26]  # drop the "+00:00"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise LedgerError("naive datetimes are not recorded; use an aware UTC datetime")
    return moment


def time_binder(dialect) -> Callable[[datetime | None], object]:
    """How a ``UTCDateTime`` value goes to this dialect's driver (text on SQLite)."""
    return _sqlite_time if dialect.name == "sqlite" else _aware


def _values(draft: EventDraft) -> tuple:
    """The draft's column values in :data:`RECORD_COLUMNS` order."""
    return (
        draft.seq, draft.record_id, draft.customer_ref, draft.purpose, draft.channel,
        draft.action, draft.lawful_basis, draft.notice_id, draft.notice_version,
        draft.notice_hash, draft.method, draft.source, draft.actor, draft.reason,
        draft.jurisdiction, draft.language, draft.event_time, draft.expires_at, draft.evidence,
    )  # fmt: skip


def _leaf(values: tuple, draft: EventDraft) -> bytes:
    try:
        return sha256(b"\x00" + record_bytes(*values)).digest()
    except (TypeError, ValueError):  # not the common shape: the definition decides (or refuses)
        try:
            return leaf_hash(canonical_bytes(record_of(draft)))
        except ValueError as exc:
            raise LedgerError(f"not a valid consent record: {exc}") from None


def append_events(session: Session, drafts: Sequence[EventDraft]) -> list[EventDraft]:
    """Append ``drafts`` as consecutive leaves (in the caller's transaction).

    Works for one event and for bulk imports alike: only the O(log n) frontier nodes are read,
    and not even those when this process made the previous append. Rows go to the driver as
    plain tuples in one ``executemany`` per table (SQLAlchemy's per-value processing cost more
    than the inserts themselves); timestamps are bound the way the model's type binds them.
    """
    if not drafts:
        return []
    for draft in drafts:
        draft.check()
    connection = session.connection()
    dialect = connection.dialect
    start = _reserve(connection, len(drafts))
    key = str(connection.engine.url)
    stream = stream_at(key, start, lambda ids: _fetch_nodes(session, ids))
    rows, nodes = leaf_rows(drafts, start, stream, time_binder(dialect))
    connection.exec_driver_sql(driver_insert(dialect, "consent_events", EVENT_COLUMNS), rows)
    connection.exec_driver_sql(driver_insert(dialect, "merkle_nodes", NODE_COLUMNS), nodes)
    session.info[PENDING_FRONTIER] = (key, stream)
    return list(drafts)


def leaf_rows(
    drafts: Sequence[EventDraft], start: int, stream: tree.StreamingRoot, bind_time
) -> tuple[list[tuple], list[tuple]]:
    """Number ``drafts`` from ``start``; their event rows and the tree nodes they complete.

    Each leaf is computed from exactly the values the database will hold (timestamps as the
    driver receives them), and ``stream`` advances past them.
    """
    rows, nodes = [], []
    for offset, draft in enumerate(drafts):
        draft.seq = start + offset
        values = _values(draft)
        values = (*values[:16], bind_time(values[16]), bind_time(values[17]), values[18])
        leaf = _leaf(values, draft)
        rows.append((*values, leaf))
        nodes.extend(stream.append(leaf))
    return rows, nodes


def ledger_size(session: Session) -> int:
    """The number of events in the ledger."""
    return session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1)) or 0
