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


def test_webhook_secrets_and_stored_answers_are_sealed_and_opened_again(
    empty_database_url, tmp_path
):
    """Migration 0022 seals the secrets and answers already there; its downgrade opens them."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from app.integrations.sealing import open_answer, open_secret

    app = create_app(
        "testing",
        DATABASE_URL=empty_database_url,
        KEYSTORE_URL=f"sqlite:///{tmp_path / 'keys.sqlite3'}",
    )
    secret, answer = "whsec_" + "A" * 44, '{"reference": "crm-1"}'
    with app.app_context():
        upgrade(revision="0021_api_and_webhooks")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO webhook_subscriptions (id, url, secret, event_types, "
                    "description, created_by, created_at, active, consecutive_failures) VALUES "
                    "(1, 'https://hooks.example.com/a', :secret, 'customer.erased', '', 't', "
                    "'2026-01-01', true, 0)"
                ),
                {"secret": secret},
            )
            connection.execute(
                text(
                    "INSERT INTO api_keys (id, public_id, secret_hash, name, scopes, created_by, "
                    "created_at) VALUES (1, 'abcdefabcdef', 'v1:x', 'k', 'decisions:read', 't', "
                    "'2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO api_idempotency (key_id, idempotency_key, fingerprint, "
                    "status_code, response_body, created_at) VALUES "
                    "(1, 'once', 'f', 201, :body, '2026-01-01')"
                ),
                {"body": answer},
            )
        upgrade(revision="0022_sealed_api_secrets")
        with db.engine.connect() as connection:
            url, sealed = connection.execute(
                text("SELECT url, secret_sealed FROM webhook_subscriptions")
            ).one()
            stored = connection.execute(text("SELECT response_sealed FROM api_idempotency"))
            stored_answer = stored.scalar_one()
        assert secret.encode() not in sealed and b"crm-1" not in stored_answer
        assert open_secret(url, sealed) == secret
        assert open_answer(1, "once", stored_answer) == answer
        downgrade(revision="0021_api_and_webhooks")
        with db.engine.connect() as connection:
            assert (
                connection.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one()
                == secret
            )
            assert (
                connection.execute(text("SELECT response_body FROM api_idempotency")).scalar_one()
                == answer
            )
        upgrade()
        db.engine.dispose()
