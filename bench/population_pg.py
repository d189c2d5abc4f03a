"""Bulk loading of the audience benchmark's population on PostgreSQL (a helper module of
``bench/policy_audience.py``, not a benchmark of its own).

A population of millions loads fastest into bare tables: ``defer_indexes`` drops the tables'
keys, unique constraints, foreign keys and indexes (and their autovacuum) before the load and
returns what ``restore_indexes`` builds again once every row is in, followed by
``VACUUM ANALYZE``, as a bulk import into a new database is done. ``replicate`` copies one
generated base population inside the database, a copy per statement and table.
"""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

#: Populations above this many customers are built from one generated base of this size.
BASE = 1_000_000
_HEX = "lpad(to_hex(id + {off}), {width}, '0')"
#: The identity columns of a copied customer, as ``identity`` makes them for its new id.
_COPIED_IDENTITY = (
    "id + {off}, "
    + _HEX.format(off="{off}", width=32)
    + "::uuid::text, "
    + _HEX.format(off="{off}", width=32)
    + ", 'v1:' || "
    + _HEX.format(off="{off}", width=64)
    + ", CASE WHEN password_hash IS NULL THEN NULL ELSE '$argon2id$v=19$m=65536,t=3,p=4$' || "
    + _HEX.format(off="{off}", width=22)
    + " || '$' || "
    + _HEX.format(off="{off}", width=43)
    + " END"
)
_CONSTRAINTS = """
SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.conrelid = ANY(CAST(%s AS regclass[])) AND c.contype IN ('p', 'u', 'f')
"""
_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(CAST(%s AS regclass[]))
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


def defer_indexes(engine: Engine, tables: list[str]) -> list[str]:
    """Drop every key, constraint and index of ``tables`` (and stop autovacuum on them);
    returns the statements that build them again, in order (``restore_indexes``)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(_CONSTRAINTS, (tables,))
        constraints = cursor.fetchall()
        cursor.execute(_INDEXES, (tables,))
        indexes = cursor.fetchall()
        for table, name, _kind, _ in sorted(constraints, key=lambda c: c[2] != "f"):
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        raw.commit()
    finally:
        raw.close()
    add = {
        kind: [
            f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, k, d in constraints if k == kind
        ]
        for kind in "puf"
    }
    resets = [f"ALTER TABLE {table} RESET (autovacuum_enabled)" for table in tables]
    return add["p"] + add["u"] + [sql for _, sql in indexes] + add["f"] + resets


def restore_indexes(engine: Engine, statements: list[str]) -> float:
    """Run ``defer_indexes``'s statements (with room for sorting); seconds spent."""
    start = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for sql in statements:
            cursor.execute(sql)
            raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - start


def replicate(engine: Engine, tables: dict[str, str], copies: int) -> None:
    """Make ``copies - 1`` copies of the loaded base population inside PostgreSQL: customer
    ``i + k * BASE`` is customer ``i`` again (the same situation, rows and summaries) under
    the identity ``identity`` gives its own id, so every count is ``copies`` times the base's.
    The database does the copying (``INSERT … SELECT``, a copy after the other so that the
    rows lie in id order), so ten million customers load at the server's speed rather than at
    the speed of Python building rows."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table in tables:  # the base alone, read by every copy
            cursor.execute(f"CREATE TEMPORARY TABLE base_{table} AS SELECT * FROM {table}")
        for k in range(1, copies):
            start, off = time.perf_counter(), k * BASE
            for table, columns in tables.items():
                names = [c.strip() for c in columns.split(",")]
                if table == "customers":
                    values = _COPIED_IDENTITY.format(off=off) + ", " + ", ".join(names[5:])
                else:
                    values = f"customer_id + {off}, " + ", ".join(names[1:])
                cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {values} FROM base_{table}")
            raw.commit()
            took = time.perf_counter() - start
            print(f"  copy {k}: customers to {off + BASE:,} in {took:.0f} s", flush=True)
        for table in tables:
            cursor.execute(f"DROP TABLE base_{table}")
        raw.commit()
    finally:
        raw.close()
