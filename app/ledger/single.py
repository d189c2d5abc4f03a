"""One consent change, one transaction: the ledger append and the state row, on the driver.

A portal click or a one-click unsubscribe is one event and one consent-state row. Run through
the ORM's unit of work, that cost about five times the database's own work (a session
transaction, a flush, identity-map bookkeeping, per-parameter type processing), so a single
change runs its handful of statements on the database driver's own cursor:

* **on a connection of its own** from the engine's pool, committed here, when the caller's
  session holds no write of its own. The caller's loaded objects are kept (nothing else
  changed), except those this change touches: the customer's objection time is set to the
  committed value and a loaded state row is expired;
* **inside the caller's transaction** otherwise (objects waiting to be flushed, or a write
  already sent), after a flush, and committed with it as the caller's unit of work.

Either way the statements are the same: advance the ledger head (which serialises appenders),
read the customer as it is now, append the event and the tree nodes it completes, and write
the state row through :func:`app.ledger.state.project`, the single rule the rebuild replays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import InvalidInput, NotFound
from app.ledger import appender
from app.ledger.appender import EVENT_COLUMNS, NODE_COLUMNS, EventDraft, driver_insert
from app.ledger.models import ConsentState
from app.ledger.records import ALL
from app.ledger.state import UPSERT_COLUMNS, UPSERT_SUFFIX, StateValues, project
from app.models_base import UTCDateTime, driver_value_reader, utcnow
from app.transaction import transaction
from app.vault.models import Customer


@dataclass(frozen=True)
class CustomerNow:
    """What an event takes from its customer, read inside the change's own transaction."""

    id: int
    ref: str
    jurisdiction: str
    language: str
    erased: bool
    objected_at: object


class _Statements:
    """The change's statements in one driver's parameter style, with its value converters."""

    def __init__(self, dialect) -> None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.mark = mark
        self.reserve = "UPDATE ledger_head SET size = size + 1 WHERE id = 1 RETURNING size"
        self.customer = (
            "SELECT ref, jurisdiction, language, erased_at, objected_at FROM customers "
            f"WHERE id = {mark}"
        )
        self.event = driver_insert(dialect, "consent_events", EVENT_COLUMNS)
        self.nodes = driver_insert(dialect, "merkle_nodes", NODE_COLUMNS)
        self.state = (
            "SELECT status, lawful_basis, confirmed, granted_at, expires_at, notice_version, "
            f"last_seq FROM consent_state WHERE customer_id = {mark} AND purpose = {mark} "
            f"AND channel = {mark}"
        )
        self.upsert = driver_insert(dialect, "consent_state", UPSERT_COLUMNS, UPSERT_SUFFIX)
        self.objection = f"UPDATE customers SET objected_at = {mark} WHERE id = {mark}"
        self.bind_time = appender.time_binder(dialect)
        self.read_time = driver_value_reader(UTCDateTime(), dialect)
        self._node_queries: dict[int, str] = {}

    def node_query(self, count: int) -> str:
        query = self._node_queries.get(count)
        if query is None:
            terms = " OR ".join([f"(level = {self.mark} AND idx = {self.mark})"] * count)
            query = self._node_queries[count] = (
                f"SELECT level, idx, hash FROM merkle_nodes WHERE {terms}"
            )
        return query


_STATEMENTS: dict[str, _Statements] = {}


def _statements(dialect) -> _Statements:
    statements = _STATEMENTS.get(dialect.name)
    if statements is None:
        statements = _STATEMENTS[dialect.name] = _Statements(dialect)
    return statements


def _fetch_nodes(cursor, sql: _Statements, ids: Sequence[tuple[int, int]]) -> dict:
    if not ids:
        return {}
    params = [value for node in ids for value in node]
    cursor.execute(sql.node_query(len(ids)), params)
    return {(level, idx): bytes(digest) for level, idx, digest in cursor.fetchall()}


def _joins_caller(session: Session) -> bool:
    """Whether the caller's session holds writes the change must not run beside."""
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    dbapi = session.connection().connection.dbapi_connection
    # SQLite's driver opens a transaction only for a write; elsewhere assume the caller wrote.
    return getattr(dbapi, "in_transaction", True)


@contextmanager
def _cursor(session: Session) -> Iterator[tuple[object, object, bool]]:
    """A driver cursor for the change: (cursor, dialect, whether it is our own connection)."""
    if _joins_caller(session):
        session.flush()
        with transaction(session):
            connection = session.connection()
            with closing(connection.connection.cursor()) as cursor:
                yield cursor, connection.dialect, False
        return
    engine = session.get_bind(mapper=inspect(Customer))
    raw = engine.raw_connection()
    try:
        with closing(raw.cursor()) as cursor:
            yield cursor, engine.dialect, True
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def change(
    session: Session,
    customer: Customer,
    make_draft: Callable[[CustomerNow], EventDraft],
    check: Callable[[CustomerNow], None] = lambda _customer: None,
) -> EventDraft:
    """Append the event ``make_draft`` builds for ``customer`` and project it, committed.

    ``check`` may refuse the change (by raising) once the customer has been read inside the
    transaction; nothing is written then. Returns the appended draft (``seq`` set).
    """
    if isinstance(session, scoped_session):
        session = session()
    identity = inspect(customer).identity
    customer_id = identity[0] if identity else None
    url = str(session.get_bind(mapper=inspect(Customer)).url)
    with _cursor(session) as (cursor, dialect, own):
        sql = _statements(dialect)
        cursor.execute(sql.reserve)
        seq = cursor.fetchone()[0] - 1
        now = _read_customer(cursor, sql, customer_id if customer_id is not None else customer.id)
        if now.erased:
            raise InvalidInput("This customer's data was erased.")
        check(now)
        draft = make_draft(now)
        try:
            draft.check()
        except appender.LedgerError as exc:
            raise InvalidInput(str(exc)) from None
        stream = appender.stream_at(url, seq, lambda ids: _fetch_nodes(cursor, sql, ids))
        try:
            rows, nodes = appender.leaf_rows([draft], seq, stream, sql.bind_time)
        except appender.LedgerError as exc:
            raise InvalidInput(str(exc)) from None
        cursor.execute(sql.event, rows[0])
        cursor.executemany(sql.nodes, nodes)
        objected_at = _project(cursor, sql, now, draft)
        if not own:  # promoted by the session's commit, dropped by its rollback
            session.info[appender.PENDING_FRONTIER] = (url, stream)
    if own:
        appender.keep_frontier(url, stream)
        _refresh_loaded(session, customer, draft, objected_at)
    return draft


def _refresh_loaded(session: Session, customer: Customer, draft, objected_at) -> None:
    """Bring the caller's loaded objects in line with what this change committed."""
    if objected_at is not _UNCHANGED and "objected_at" not in inspect(customer).unloaded:
        set_committed_value(customer, "objected_at", objected_at)
    identity = inspect(customer).identity
    if identity is not None:
        key = session.identity_key(ConsentState, (identity[0], draft.purpose, draft.channel))
        loaded = session.identity_map.get(key)
        if loaded is not None:
            session.expire(loaded)


def _read_customer(cursor, sql: _Statements, customer_id: int) -> CustomerNow:
    cursor.execute(sql.customer, (customer_id,))
    row = cursor.fetchone()
    if row is None:
        raise NotFound("No such customer.")
    ref, jurisdiction, language, erased_at, objected_at = row
    return CustomerNow(customer_id, ref, jurisdiction, language, erased_at is not None, objected_at)


_UNCHANGED = object()


def _project(cursor, sql: _Statements, customer: CustomerNow, draft: EventDraft):
    """Write the state row (or the objection) the event implies; returns a new objection time
    for the customer, or ``_UNCHANGED``."""
    if draft.action == "objected":
        cursor.execute(sql.objection, (sql.bind_time(draft.event_time), customer.id))
        return draft.event_time
    if draft.purpose == ALL or draft.channel == ALL:
        return _UNCHANGED
    cursor.execute(sql.state, (customer.id, draft.purpose, draft.channel))
    row = cursor.fetchone()
    read = sql.read_time
    current = (
        StateValues(row[0], row[1], bool(row[2]), read(row[3]), read(row[4]), row[5], row[6])
        if row
        else None
    )
    new = project(current, draft)
    bind = sql.bind_time
    cursor.execute(
        sql.upsert,
        (customer.id, draft.purpose, draft.channel, new.status, new.lawful_basis,
         new.confirmed, bind(new.granted_at), bind(new.expires_at), new.notice_version,
         new.last_seq, bind(utcnow())),
    )  # fmt: skip
    if draft.action in ("granted", "confirmed") and customer.objected_at is not None:
        # A new, explicit consent after an objection is the customer's newer choice.
        cursor.execute(sql.objection, (None, customer.id))
        return None
    return _UNCHANGED
