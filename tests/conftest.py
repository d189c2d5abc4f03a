"""Shared fixtures: ``app``, ``client``, ``runner`` and builder functions.

Database tests run on SQLite always and, when ``TEST_DATABASE_URL`` is set, also on PostgreSQL
(the ``engine_name`` fixture is parametrised). Each test gets a database migrated with Alembic:
on SQLite a copy of a migrated template file, on PostgreSQL the migrated schema with every
table truncated (TRUNCATE does not fire the ledger's row-level guards).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

from app import create_app
from app.self_service.mail import wait_for_background_mail

PG_URL = os.environ.get("TEST_DATABASE_URL")
ENGINES = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_PASSWORD = "correct horse battery staple"


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own application context.

    Tests hold an application context open for database work; without this, requests would
    share that context's ``g`` (and so the signed-in user and CSRF token caches) with each
    other, unlike a real server.
    """

    def open(self, *args, **kwargs):
        """Issue the request inside a fresh application context."""
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app("testing", DATABASE_URL=url)
    with app.app_context():
        upgrade()
        from app.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """Path of a SQLite database migrated once for the whole session."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgresql_schema() -> str:
    """The PostgreSQL test database, reset and migrated once; fails if it cannot connect."""
    assert PG_URL, "TEST_DATABASE_URL is not set"
    engine = create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    _migrate(PG_URL)
    return PG_URL


def truncate_all(url: str) -> None:
    """Empty every table but Alembic's (restarting identities) on PostgreSQL."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
            names = ", ".join(f'"{name}"' for name in tables)
            if names:
                # Replica mode skips the ledger's guards, which refuse TRUNCATE otherwise.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                conn.execute(text("INSERT INTO ledger_head (id, size) VALUES (1, 0)"))
    finally:
        engine.dispose()


@pytest.fixture(params=ENGINES)
def engine_name(request) -> str:
    """The database engine this test runs on."""
    return request.param


@pytest.fixture
def database_url(engine_name, tmp_path, request) -> str:
    """A freshly migrated, empty database for one test."""
    if engine_name == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "assenso.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgresql_schema")
    truncate_all(url)
    return url


@pytest.fixture
def keystore_url(tmp_path) -> str:
    """A fresh key store (wrapped data keys live apart from the main database)."""
    return f"sqlite:///{tmp_path / 'keystore.sqlite3'}"


@pytest.fixture
def app_factory(database_url, keystore_url) -> Iterator[Callable[..., Flask]]:
    """Build applications on this test's database, with extra settings when needed."""
    built: list[Flask] = []

    def build(**overrides) -> Flask:
        settings = {
            "DATABASE_URL": database_url,
            "KEYSTORE_URL": keystore_url,
            "RATELIMIT_ENABLED": False,
        }
        settings.update(overrides)
        app = create_app("testing", **settings)
        app.test_client_class = IsolatedClient
        built.append(app)
        return app

    yield build
    from app.extensions import db

    wait_for_background_mail()  # e-mails sent after the answer hold connections until done
    for app in built:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(app_factory) -> Iterator[Flask]:
    """The application under test, inside an application context."""
    application = app_factory()
    with application.app_context():
        yield application


@pytest.fixture
def client(app) -> FlaskClient:
    """A test client (CSRF on; use the ``csrf_token`` helper or ``form_data``)."""
    return app.test_client()


@pytest.fixture
def runner(app) -> FlaskCliRunner:
    """A runner for the ``flask`` commands."""
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """The SQLAlchemy session of the application under test."""
    from app.extensions import db

    return db.session


@pytest.fixture
def create_staff(session) -> Callable[..., object]:
    """Builder: ``create_staff(role, email=None, password=TEST_PASSWORD)``."""
    from app.accounts.service import create_staff_user

    counter = iter(range(1, 10_000))

    def build(role: str, email: str | None = None, password: str = TEST_PASSWORD):
        address = email or f"{role}{next(counter)}@staff.example.com"
        return create_staff_user(session, address, role, password)

    return build


@pytest.fixture
def login(client) -> Callable[..., object]:
    """Sign ``user`` in through the real form (staff or customer)."""
    from tests.helpers import sign_in

    def do(email: str, password: str = TEST_PASSWORD, staff: bool = True):
        return sign_in(client, email, password, staff=staff)

    return do
