"""Reading the audience statement's ``(id, key)`` rows through the driver, in batches.

Rows come as the driver returns them (a result object per row would cost a third of a
million-customer stream), on the caller's connection: SQLite steps through the statement as
rows are fetched, PostgreSQL streams them through a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Select

#: PostgreSQL memory per hash for an audience query (see :func:`tune`).
AUDIENCE_WORK_MEM = "128MB"


def tune(connection: Connection) -> None:
    """Settings for one audience query, for the rest of the transaction (PostgreSQL).

    PostgreSQL hashes a lookup once per query only when the hash fits in ``work_mem``, and
    compiling the long ``CASE`` just in time costs more than it saves.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{AUDIENCE_WORK_MEM}'")
        connection.exec_driver_sql("SET LOCAL jit = off")


def driver_batches(
    connection: Connection, statement: Select[Any], size: int
) -> Iterator[list[tuple[Any, ...]]]:
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


def audience_batches(
    connection: Connection, statement: Select[Any], size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The ``(id, key)`` rows of the audience ``statement``, ``size`` at a time."""
    tune(connection)
    return driver_batches(connection, statement, size)
