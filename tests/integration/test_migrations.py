"""Migrations: upgrade from empty works on each engine and agrees with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy import inspect as sa_inspect
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


@pytest.fixture
def empty_database_url(engine_name, tmp_path):
    """A database with no schema at all, for stepping through migrations."""
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'steps.sqlite3'}"
        return
    from tests.conftest import PG_URL

    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = "assenso_migration_steps"
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield str(server.url.set(database=name).render_as_string(hide_password=False))
    finally:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


def test_customer_summaries_are_filled_from_existing_rows_and_removed_again(
    empty_database_url, tmp_path
):
    """Migration 0007 summarises the rows already there; its downgrade drops it cleanly."""
    from flask_migrate import downgrade, upgrade

    from app import create_app

    app = create_app(
        "testing",
        DATABASE_URL=empty_database_url,
        KEYSTORE_URL=f"sqlite:///{tmp_path / 'keys.sqlite3'}",
    )
    with app.app_context():
        upgrade(revision="0006_outbox_claim_order")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO customers (id, ref, alt_id, jurisdiction, timezone, language, "
                    "email_verified, phone_verified, created_at) VALUES "
                    "(1, 'r1', 'a1', 'IT', 'Europe/Rome', 'it', true, true, '2026-01-01'), "
                    "(2, 'r2', 'a2', 'IT', 'Europe/Rome', 'it', true, true, '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO sharing_choices (customer_id, field, purpose, shared, "
                    "changed_at) VALUES (1, 'city', 'offers', true, '2026-01-01'), "
                    "(1, 'first_name', 'offers', false, '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO suppressions (customer_id, channel, reason, source, created_at) "
                    "VALUES (1, 'email', 'bounce', 'test', '2026-01-01')"
                )
            )
        upgrade()
        summaries = "SELECT id, suppressed_on, shared_for FROM customers ORDER BY id"
        with db.engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(text(summaries))]
        assert rows == [(1, ",email,", ",offers:city,"), (2, ",", ",")]
        downgrade(revision="0006_outbox_claim_order")
        with db.engine.begin() as connection:
            columns = [c["name"] for c in sa_inspect(connection).get_columns("customers")]
            assert "shared_for" not in columns and "suppressed_on" not in columns
            connection.execute(text("DELETE FROM suppressions"))  # no trigger left to fire
        upgrade()
        db.engine.dispose()
