"""Reading the audience statement's ``(id, key)`` rows through the driver, in batches.

On PostgreSQL a server-side cursor keeps the statement on one core, so a large audience read
outside the caller's transaction (a campaign run's reader) is read in two halves by customer
id, each on a connection and thread of its own; both connections share one exported snapshot,
so the halves together are exactly what one statement would read. Otherwise, and on SQLite,
the caller's own connection reads everything.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, scoped_session

from app.customers.models import Customer
from app.models_base import dialect_name

#: PostgreSQL memory per hash for an audience query (see :func:`tune`).
AUDIENCE_WORK_MEM = "128MB"
#: Customer ids the audience must span before it is read in two halves.
SPLIT_FROM = 100_000
#: Batches waiting for the consumer, per half.
WAITING = 2
_SNAPSHOT = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")
_DONE = object()


class _Failed:
    """An error raised while reading a half, handed to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def tune(connection: Connection) -> None:
    """Settings for one audience query, for the rest of the transaction (PostgreSQL).

    PostgreSQL hashes a lookup once per query only when the hash fits in ``work_mem``, and
    compiling the long ``CASE`` just in time costs more than it saves.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{AUDIENCE_WORK_MEM}'")
        connection.exec_driver_sql("SET LOCAL jit = off")


def driver_batches(connection: Connection, statement, size: int) -> Iterator[Sequence[Any]]:
    """The driver's rows of ``statement``, ``size`` at a time, streamed.

    On PostgreSQL, SQLAlchemy's streamed result holds back the first row it fetched (its
    buffer), so the first batch comes through the result, which empties that buffer, and the
    rest from the driver's cursor.
    """
    sqlite = connection.dialect.name == "sqlite"
    options = {} if sqlite else {"stream_results": True}
    result = connection.execute(statement, execution_options=options)
    try:
        if not sqlite:
            first = result.fetchmany(size)
            if first:
                yield [tuple(row) for row in first]
            if len(first) < size:
                return
        fetch = result.cursor.fetchmany
        while rows := fetch(size):
            yield rows
    finally:
        result.close()


def audience_batches(session: Session, rows, size: int) -> Iterator[Sequence[Any]]:
    """The ``(id, key)`` rows of the audience statement ``rows``, ``size`` at a time."""
    middle = _split_point(session)
    if middle is None:
        connection = session.connection()
        tune(connection)
        return driver_batches(connection, rows, size)
    return _halves(_engine(session), rows, size, middle)


def _engine(session: Session) -> Engine:
    """The engine the session reads customers through (:func:`_split_point` reads a session
    bound to one connection at once)."""
    bind = session.get_bind(mapper=Customer.__mapper__)
    if not isinstance(bind, Engine):
        raise RuntimeError("an audience is read in halves only through an engine")
    return bind


def _split_point(session: Session) -> int | None:
    """The customer id splitting the audience in two halves, or None to read it at once."""
    if isinstance(session, scoped_session):
        session = session()
    if dialect_name(session) != "postgresql" or session.in_transaction():
        return None
    engine = session.get_bind(mapper=Customer.__mapper__)
    if not isinstance(engine, Engine):  # bound to one connection: read at once
        return None
    with engine.connect() as connection:
        low, high = connection.execute(select(func.min(Customer.id), func.max(Customer.id))).one()
    if low is None or high - low < SPLIT_FROM:
        return None
    return (low + high) // 2


def _halves(engine: Engine, rows, size: int, middle: int) -> Iterator[list]:
    """Both halves' batches as they come, from two connections sharing one snapshot."""
    leader = _reader(engine, None)
    connections = [leader]
    try:
        snapshot = leader.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        connections.append(_reader(engine, snapshot))
        statements = (rows.where(Customer.id <= middle), rows.where(Customer.id > middle))
        yield from _merged(list(zip(connections, statements, strict=True)), size)
    finally:
        for connection in connections:
            connection.rollback()
            connection.close()


def _reader(engine: Engine, snapshot: str | None) -> Connection:
    """A read-only REPEATABLE READ connection, importing ``snapshot`` when given."""
    connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    if snapshot is not None:
        if not _SNAPSHOT.fullmatch(snapshot):
            raise RuntimeError(f"unexpected snapshot identifier {snapshot!r}")
        connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    tune(connection)
    return connection


def _merged(work: list[tuple[Connection, object]], size: int) -> Iterator[list]:
    """Run one reading thread per ``(connection, statement)``; yield batches as they come.

    Stopping early (the consumer closed the stream) or an error in either half stops both;
    the waiting batches are dropped so that the threads can finish.
    """
    feed: queue.Queue = queue.Queue(maxsize=WAITING * len(work))
    stop = threading.Event()
    threads = [
        threading.Thread(target=_read, args=(c, s, size, feed, stop), daemon=True) for c, s in work
    ]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < len(threads):
            item = feed.get()
            if item is _DONE:
                finished += 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield item
    finally:
        stop.set()
        while finished < len(threads):
            if feed.get() is _DONE:
                finished += 1
        for thread in threads:
            thread.join()


def _read(connection: Connection, statement, size: int, feed, stop) -> None:
    """One half: put its batches on ``feed`` until done or told to stop, then :data:`_DONE`."""
    try:
        for rows in driver_batches(connection, statement, size):
            if stop.is_set():
                break
            feed.put(rows)
    except BaseException as exc:  # handed to the consumer, which raises it
        feed.put(_Failed(exc))
    finally:
        feed.put(_DONE)
