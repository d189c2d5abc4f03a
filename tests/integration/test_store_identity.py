"""The key store belongs to one database: bound at first use, refused with any other."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete, func, select, text

from app import create_app
from app.extensions import db
from app.vault.keystore import wrapped_keys
from app.vault.models import CustomerKey, DatabaseIdentity, KeystoreBinding
from app.vault.stores import StoreMismatch, safe_url
from config import generate_secrets
from tests.integration.builders import make_customer


@pytest.fixture
def vault_keys() -> str:
    """One master key ring for every application of a test (each would get its own)."""
    return generate_secrets()["ASSENSO_VAULT_KEYS"]


@pytest.fixture
def first_customer(app_factory, vault_keys):
    """The id of a customer of this test's database, whose key is in this test's key store."""
    with app_factory(VAULT_KEYS=vault_keys).app_context():
        customer_id = make_customer(db.session).id
        db.session.commit()
    return customer_id


def fresh_database(path, keystore_url, **settings):
    """A new SQLite database migrated from empty by an application that uses ``keystore_url``."""
    url = f"sqlite:///{path}"
    app = create_app(
        "testing",
        DATABASE_URL=url,
        KEYSTORE_URL=keystore_url,
        **settings,
    )
    with app.app_context():
        upgrade()
    return app, url


def test_a_fresh_database_refuses_the_key_store_of_another_before_writing_a_key(
    first_customer, keystore_url, tmp_path
):
    # Started before its database was migrated, the process had nothing to compare yet.
    app, url = fresh_database(tmp_path / "fresh.sqlite3", keystore_url)
    with app.app_context(), pytest.raises(StoreMismatch, match="belongs to another database"):
        make_customer(db.session, email="someone.new@example.org")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerKey)) == 1
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    with pytest.raises(StoreMismatch) as refused:  # and every later start refuses at once
        create_app("testing", DATABASE_URL=url, KEYSTORE_URL=keystore_url)
    message = str(refused.value)
    assert url in message and keystore_url in message
    assert "ASSENSO_KEYSTORE_URL" in message and "never used, reused or overwritten" in message


def test_the_database_and_its_key_store_start_together_again(app_factory, first_customer):
    with app_factory().app_context():
        assert wrapped_keys(db.session, [first_customer])
        bound = db.session.scalar(select(KeystoreBinding.database_identity))
        assert bound == db.session.scalar(select(DatabaseIdentity.identity))


def test_a_database_given_another_identity_refuses_its_old_key_store(app_factory, first_customer):
    with app_factory().app_context(), db.engine.begin() as connection:
        connection.execute(text("UPDATE database_identity SET identity = 'another-database'"))
    with pytest.raises(StoreMismatch, match="identity another-database"):
        app_factory()


def test_a_key_store_from_before_identities_is_bound_when_its_keys_open(
    app_factory, first_customer, keystore_url, vault_keys, tmp_path
):
    with app_factory(VAULT_KEYS=vault_keys).app_context():
        db.session.execute(delete(KeystoreBinding))
        db.session.commit()
    with pytest.raises(StoreMismatch, match="customer 1 does not open"):  # other master keys
        app_factory()
    with app_factory(VAULT_KEYS=vault_keys).app_context():  # its keys open: bound again
        assert db.session.scalar(select(KeystoreBinding.database_identity)) is not None
        db.session.execute(delete(KeystoreBinding))
        db.session.commit()
    app, url = fresh_database(tmp_path / "other.sqlite3", keystore_url, VAULT_KEYS=vault_keys)
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    with pytest.raises(StoreMismatch, match="holds data keys but no database identity"):
        create_app(
            "testing",
            DATABASE_URL=url,
            KEYSTORE_URL=keystore_url,
            VAULT_KEYS=vault_keys,
        )


def test_an_empty_key_store_is_refused_for_a_database_with_customers(
    app_factory, first_customer, tmp_path
):
    with pytest.raises(StoreMismatch, match=r"is empty, but .* holds 1 customers"):
        app_factory(KEYSTORE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")


def test_messages_never_show_a_password():
    shown = safe_url("postgresql+psycopg://app:s3cret@db.internal/assenso")
    assert shown == "postgresql+psycopg://app:***@db.internal/assenso"
