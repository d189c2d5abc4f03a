"""Column helpers shared by the models of every domain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from psycopg import adapters
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types
from sqlalchemy import (
    BigInteger,
    DateTime,
    String,
    TypeDecorator,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql import Executable


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind stored)."""
    return datetime.now(UTC)


def new_ref() -> str:
    """A new random pseudonymous identifier (UUID4 text)."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware, on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: Above this many ids, :func:`among` sends SQLite one JSON array instead of an ``IN`` list.
SQLITE_JSON_BATCH = 200


def rows_changed(bind, statement: Executable) -> int:
    """Run a bulk UPDATE or DELETE on ``bind`` (session or connection); the rows it matched."""
    return cast(CursorResult, bind.execute(statement)).rowcount  # DML gives a cursor result


class _IdArray(list):
    """Integer ids on their way to PostgreSQL as one ``bigint[]`` (see :class:`BigintIds`)."""


class _IdArrayDumper(Dumper):
    """Writes an :class:`_IdArray` in the array's text form, typed ``bigint[]``.

    psycopg's own list adapter looks at every element to choose its type: about 2 µs an id, 9
    ms for a batch of 5,000, where writing the text form takes a fifth of that. The parameter
    keeps the ``bigint[]`` type, so the server reads it once as a constant (never as text cast
    again for every row scanned). Only integers pass (:func:`pg_array` writes the text).
    """

    oid = pg_types["int8"].array_oid

    def dump(self, obj) -> bytes:
        if any(type(i) is not int for i in obj):
            raise TypeError("a bigint[] of ids takes integers only")
        return pg_array(obj).encode()


adapters.register_dumper(_IdArray, _IdArrayDumper)


class BigintIds(TypeDecorator):
    """A ``bigint[]`` parameter of integer ids, written quickly (:class:`_IdArrayDumper`)."""

    impl = ARRAY(BigInteger)
    cache_ok = True

    def bind_processor(self, dialect):
        """Every value becomes an :class:`_IdArray` (ARRAY's own processor copies it to a list)."""
        return lambda value: None if value is None else _IdArray(value)


def among(bind, column, ids):
    """``column IN ids`` for a batch of integer ids, as one array parameter on PostgreSQL.

    ``bind`` is the session or connection the statement runs on. An ``IN`` list of hundreds
    of parameters is a new statement text for the driver whenever the count changes, and
    psycopg parses any statement with more than 50 parameters again on every execution (a
    few milliseconds each); ``= ANY(:ids::BIGINT[])`` is one short, cached statement. The
    array is a native ``bigint[]`` parameter, a constant to the planner: it is read once per
    statement (hashed for a scan) and the index can serve it. Cast from text (``varchar``) it
    would be parsed again for every row a sequential scan reads, which on a restored,
    un-analysed table turned a worker's claim from milliseconds into seconds. SQLite has no
    arrays: a batch of more than
    :data:`SQLITE_JSON_BATCH` ids travels as one JSON array read by ``json_each`` (expanding
    thousands of ``IN`` parameters cost SQLAlchemy about 2 µs per id); smaller ones keep the
    ``IN`` list, which the planner can use for index lookups by estimate.
    """
    name = dialect_name(bind, getattr(column, "table", None))
    if name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=BigintIds()))
    ids = list(ids)
    if name == "sqlite" and len(ids) > SQLITE_JSON_BATCH:
        if any(type(i) is not int for i in ids):
            raise TypeError("among() takes integer ids")
        listed = bindparam(None, json.dumps(ids), type_=String)
        return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
    return column.in_(ids)


def among_parameter(dialect: str, column, name: str):
    """``column IN :name`` for a statement built once and run for many batches of ids, bound
    with :func:`among_value`: an array on PostgreSQL, a JSON array read by ``json_each`` on
    SQLite (see :func:`among`). A statement built once spares SQLAlchemy hashing a new one
    for every batch, which costs more than running a small query."""
    if dialect == "postgresql":  # a native bigint[], as in among()
        return column == any_(bindparam(name, type_=BigintIds()))
    listed = bindparam(name, type_=String)
    return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))


def among_value(dialect: str, ids) -> str | list[int]:
    """The value of an :func:`among_parameter` for the integer ``ids``."""
    ids = list(ids)
    if dialect == "postgresql":
        return ids
    if any(type(i) is not int for i in ids):
        raise TypeError("among_value() takes integer ids")
    return json.dumps(ids)


def driver_value_reader(type_, dialect) -> Callable[[Any], Any]:
    """How a value as the database driver returns it becomes what ``type_`` returns.

    For hot loops that read the driver's rows directly (a result row object each costs more
    than the conversion): a ``UTCDateTime`` stored as text on SQLite becomes an aware
    datetime, as it would through a query.
    """
    process = type_.dialect_impl(dialect).result_processor(dialect, None)
    return process or _unchanged


def _unchanged(value):
    return value


def pg_array(values) -> str:
    """The PostgreSQL text form of an array of ints, booleans, text or None (``{1,"a",NULL}``).

    Text elements are always double-quoted with ``"`` and ``\\`` escaped, so any content
    round-trips; the statement casts the parameter to the array type it expects.
    """
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif value is True or value is False:
            parts.append("t" if value else "f")
        elif type(value) is int:
            parts.append(str(value))
        elif type(value) is str:
            parts.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            raise TypeError(f"no array text form for {type(value).__name__}")
    return "{" + ",".join(parts) + "}"


def dialect_name(bind, table=None) -> str:
    """The dialect's name of a connection, or of the engine a session uses for ``table``
    (tables may live in separate databases, such as the key store)."""
    if hasattr(bind, "get_bind"):
        bind = bind.get_bind(clause=table) if table is not None else bind.get_bind()
    return bind.dialect.name
