"""The ledger's statements on one database connection, and who owns their transaction.

Every ledger write, one consent change or a batch of imported events, runs the same few
statements on the database driver's own cursor: through the ORM's unit of work they cost
several times the database's own work. The caller opens a writer with :func:`ledger_writer`
and says who owns the transaction:

* ``caller_owns_transaction=False``: the writer takes a pooled connection of its own and
  commits when the block ends. Nothing of the caller's session takes part, so it must hold
  no uncommitted write (on SQLite the writer would wait for the caller's lock); a session
  with unsaved objects is refused.
* ``caller_owns_transaction=True``: the writer runs inside the session's transaction, after
  a flush, and the caller commits.

Either way an error inside the block rolls that transaction back (the caller's whole
transaction in the second case, as :func:`app.transaction.transaction` does), so a change is
never left half-written. The tree's frontier after this process's last committed append is
kept per database, so the next append reads no tree node; it is kept once its transaction
commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, scoped_session

from app.ledger import tree
from app.ledger.drafts import LedgerError
from app.ledger.merkle import Frontier, Node
from app.ledger.models import ConsentEvent
from app.ledger.records import RECORD_COLUMNS
from app.ledger.state import StateValues
from app.models_base import UTCDateTime, driver_value_reader

EVENT_COLUMNS = (*RECORD_COLUMNS, "leaf_hash")
NODE_COLUMNS = ("level", "idx", "hash")
STATE_KEY = ("customer_id", "purpose", "channel")
STATE_VALUES = (*StateValues._fields, "updated_at")
StateKey = tuple[int, str, str]


@dataclass(frozen=True)
class CustomerNow:
    """What an event takes from its customer, read inside the writing transaction."""

    id: int
    ref: str
    jurisdiction: str
    language: str
    erased: bool
    objected_at: object


def _sqlite_time(moment: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    if moment is None:
        return None
    offset = moment.utcoffset()
    if offset is None:
        raise LedgerError("naive datetimes are not recorded; use an aware UTC datetime")
    if offset:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat pads years differently; write what SQLAlchemy writes
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    return moment.isoformat(" ", "microseconds")[:26]  # drop the "+00:00"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise LedgerError("naive datetimes are not recorded; use an aware UTC datetime")
    return moment


def time_binder(dialect: Dialect) -> Callable[[datetime | None], object]:
    """How a ``UTCDateTime`` value goes to this dialect's driver (text on SQLite)."""
    return _sqlite_time if dialect.name == "sqlite" else _aware


class _Statements:
    """The ledger's statements in one driver's parameter style, with its value converters."""

    def __init__(self, dialect: Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.mark = mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.reserve = f"UPDATE ledger_head SET size = size + {mark} WHERE id = 1 RETURNING size"
        self.event = _insert("consent_events", EVENT_COLUMNS, mark)
        self.nodes = _insert("merkle_nodes", NODE_COLUMNS, mark)
        self.upsert = _insert("consent_state", STATE_KEY + STATE_VALUES, mark) + (
            " ON CONFLICT (customer_id, purpose, channel) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in STATE_VALUES)
        )
        self.objection = f"UPDATE customers SET objected_at = {mark} WHERE id = {mark}"
        self.bind_time = time_binder(dialect)
        self.read_time = driver_value_reader(UTCDateTime(), dialect)
        self._cached: dict[tuple[str, int], str] = {}

    def among(self, kind: str, count: int) -> str:
        """The customers (``kind="customers"``) or state rows (``"states"``) of ``count`` ids."""
        sql = self._cached.get((kind, count))
        if sql is None:
            column = "id" if kind == "customers" else "customer_id"
            # SQLite has no arrays; PostgreSQL takes one array whatever the count.
            listed = f"IN ({', '.join([self.mark] * count)})" if self.sqlite else "= ANY(%s)"
            sql = self._cached[(kind, count)] = _SELECTS[kind] + f" WHERE {column} {listed}"
        return sql

    def node_query(self, count: int) -> str:
        """``SELECT`` of ``count`` (level, idx) nodes, each term a primary-key lookup on both
        engines (a row-value ``IN`` list is not index-assisted on SQLite)."""
        sql = self._cached.get(("nodes", count))
        if sql is None:
            terms = " OR ".join([f"(level = {self.mark} AND idx = {self.mark})"] * count)
            sql = f"SELECT level, idx, hash FROM merkle_nodes WHERE {terms}"
            self._cached[("nodes", count)] = sql
        return sql


_SELECTS = {
    "customers": "SELECT id, ref, jurisdiction, language, erased_at, objected_at FROM customers",
    "states": f"SELECT {', '.join(STATE_KEY + StateValues._fields)} FROM consent_state",
}
#: Ids per statement on SQLite (far below its limit of bound parameters).
ID_BATCH = 500


def _insert(table: str, columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


_STATEMENTS: dict[str, _Statements] = {}


def statements(dialect: Dialect) -> _Statements:
    """The ledger's statements for ``dialect``, built once."""
    found = _STATEMENTS.get(dialect.name)
    if found is None:
        found = _STATEMENTS[dialect.name] = _Statements(dialect)
    return found


def _node_params(ids: Sequence[tree.NodeId]) -> list[int]:
    return [value for node_id in ids for value in node_id]


def read_nodes(connection: Connection, ids: Sequence[tree.NodeId]) -> dict[tree.NodeId, bytes]:
    """The stored hashes of the given (level, idx) nodes, in one query on ``connection``."""
    if not ids:
        return {}
    sql = statements(connection.dialect).node_query(len(ids))
    rows = connection.exec_driver_sql(sql, tuple(_node_params(ids)))
    return {(level, idx): bytes(digest) for level, idx, digest in rows}


class LedgerWriter:
    """The ledger's statements on one driver cursor, inside one transaction."""

    def __init__(self, cursor: Any, dialect: Dialect, database: object) -> None:
        """A writer on ``cursor``; ``database`` names the database for the frontier cache."""
        self.cursor = cursor
        self.sql = statements(dialect)
        self.bind_time = self.sql.bind_time
        self.database = database
        self.frontier: Frontier | None = None  # set by an append, kept on commit

    def reserve(self, count: int) -> int:
        """Advance the ledger's size by ``count`` (queueing other writers until this
        transaction ends); the first reserved leaf index."""
        self.cursor.execute(self.sql.reserve, (count,))
        return int(self.cursor.fetchone()[0]) - count

    def frontier_at(self, size: int) -> Frontier:
        """The tree's frontier at ``size`` leaves: this process's copy after its last
        committed append when it is at that size, else read from the stored nodes."""
        cached = _frontiers.pop(self.database, None)
        if cached is not None and cached.size == size:
            return cached
        return tree.resume(size, self._nodes(tree.frontier_node_ids(size)))

    def _nodes(self, ids: Sequence[tree.NodeId]) -> dict[tree.NodeId, bytes]:
        if not ids:
            return {}
        self.cursor.execute(self.sql.node_query(len(ids)), _node_params(ids))
        return {(level, idx): bytes(digest) for level, idx, digest in self.cursor.fetchall()}

    def insert(self, events: list[tuple[Any, ...]], nodes: list[Node]) -> None:
        """Insert event rows (:data:`EVENT_COLUMNS`) and tree nodes (:data:`NODE_COLUMNS`)."""
        self.cursor.executemany(self.sql.event, events)
        self.cursor.executemany(self.sql.nodes, nodes)

    def _rows_among(self, kind: str, ids: Iterable[int]) -> Iterator[tuple[Any, ...]]:
        ids = sorted(ids)
        for start in range(0, len(ids), ID_BATCH):
            chunk = ids[start : start + ID_BATCH]
            params = chunk if self.sql.sqlite else [chunk]
            self.cursor.execute(self.sql.among(kind, len(chunk)), params)
            yield from self.cursor.fetchall()

    def customers(self, ids: Iterable[int]) -> dict[int, CustomerNow]:
        """The customers with these ids as they are now (unknown ids are absent)."""
        return {
            row[0]: CustomerNow(row[0], row[1], row[2], row[3], row[4] is not None, row[5])
            for row in self._rows_among("customers", ids)
        }

    def states(self, customer_ids: Iterable[int]) -> dict[StateKey, StateValues]:
        """Every consent-state row of these customers, by (customer, purpose, channel)."""
        read = self.sql.read_time
        return {
            (cid, purpose, channel): StateValues(
                status, basis, bool(confirmed), read(granted), read(expires), version, seq
            )
            for cid, purpose, channel, status, basis, confirmed, granted, expires, version, seq in (
                self._rows_among("states", customer_ids)
            )
        }

    def upsert_states(self, rows: Iterable[tuple[StateKey, StateValues]], at: datetime) -> None:
        """Write projected state rows, stamped ``updated_at = at``."""
        bind = self.bind_time  # the two timestamps, granted_at and expires_at, go bound
        self.cursor.executemany(
            self.sql.upsert,
            [(*k, *v[:3], bind(v[3]), bind(v[4]), *v[5:], bind(at)) for k, v in rows],
        )

    def set_objections(self, moments: Iterable[tuple[int, datetime | None]]) -> None:
        """Set (or lift, with ``None``) customers' objection to direct marketing."""
        bind = self.bind_time
        self.cursor.executemany(self.sql.objection, [(bind(at), cid) for cid, at in moments])


@contextmanager
def ledger_writer(session: Session, *, caller_owns_transaction: bool) -> Iterator[LedgerWriter]:
    """A :class:`LedgerWriter` under the transaction contract of the module docstring."""
    if isinstance(session, scoped_session):
        session = session()
    if caller_owns_transaction:
        with _in_callers_transaction(session) as writer:
            yield writer
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError(
            "the session holds unsaved objects: commit them first, or record the change in "
            "that transaction with caller_owns_transaction=True"
        )
    engine = session.get_bind(mapper=ConsentEvent.__mapper__)
    if not isinstance(engine, Engine):
        raise RuntimeError(
            "a session bound to one connection records with caller_owns_transaction=True"
        )
    raw = engine.raw_connection()
    try:
        with closing(raw.cursor()) as cursor:
            writer = LedgerWriter(cursor, engine.dialect, engine.url)
            yield writer
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    _keep(writer)


@contextmanager
def _in_callers_transaction(session: Session) -> Iterator[LedgerWriter]:
    session.flush()
    connection = session.connection(bind_arguments={"mapper": ConsentEvent.__mapper__})
    try:
        with closing(connection.connection.cursor()) as cursor:
            writer = LedgerWriter(cursor, connection.dialect, connection.engine.url)
            yield writer
    except BaseException:
        session.rollback()
        raise
    if writer.frontier is not None:  # kept by the session's commit, dropped by its rollback
        session.info[_PENDING_FRONTIER] = (writer.database, writer.frontier)


# The frontier after the last committed append of this process, per database. Stored nodes
# never change, so the frontier of a given size is the same whoever appended.
_frontiers: dict[object, Frontier] = {}
_PENDING_FRONTIER = "assenso.ledger.pending_frontier"


def _keep(writer: LedgerWriter) -> None:
    if writer.frontier is not None:
        _frontiers[writer.database] = writer.frontier


def forget_frontiers() -> None:
    """Drop this process's frontiers (the next append reads the stored nodes)."""
    _frontiers.clear()


@event.listens_for(Session, "after_commit")
def _promote_frontier(session: Session) -> None:
    pending = session.info.pop(_PENDING_FRONTIER, None)
    if pending is not None:
        _frontiers[pending[0]] = pending[1]


@event.listens_for(Session, "after_rollback")
def _drop_frontier(session: Session) -> None:
    session.info.pop(_PENDING_FRONTIER, None)
