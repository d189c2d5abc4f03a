"""Migrations: upgrade from empty works on each engine and agrees with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.extensions import db

APPEND_ONLY = ("consent_events", "merkle_nodes", "checkpoints", "notices")


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.mark.parametrize(
    "statement", ["UPDATE notices SET text = 'changed'", "DELETE FROM notices"]
)
def test_the_database_refuses_to_alter_ledger_tables(app, statement):
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notices (purpose, language, version, title, text, sha256, "
                "effective_at, created_at) VALUES ('offers', 'en', 1, 't', 'x', 'h', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(statement))


def test_every_ledger_table_is_guarded(app):
    dialect = db.engine.dialect.name
    with db.engine.connect() as connection:
        if dialect == "sqlite":
            names = set(
                connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type='trigger'")
                ).scalars()
            )
            expected = {f"{t}_no_{verb}" for t in APPEND_ONLY for verb in ("update", "delete")}
        else:
            names = set(
                connection.execute(
                    text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
                ).scalars()
            )
            expected = {f"{t}_append_only" for t in APPEND_ONLY} | {
                f"{t}_no_truncate" for t in APPEND_ONLY
            }
    assert expected <= names
