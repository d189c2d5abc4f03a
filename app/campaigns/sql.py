"""Small SQL helpers shared by campaign modules (dialect-specific statements in one place)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring(bind: Any, model: Any):
    """``INSERT … ON CONFLICT DO NOTHING`` for ``model`` on ``bind``'s dialect.

    Re-running an insert of rows that exist (same unique key) is then a no-op: the basis of
    idempotent runs (decisions, outbox entries) and of taking the scheduler lock row.
    """
    dialect = bind.get_bind().dialect.name if hasattr(bind, "get_bind") else bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    if dialect not in ("postgresql", "sqlite"):
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    return module.insert(model).on_conflict_do_nothing()
