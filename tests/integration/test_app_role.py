"""The application runs as a PostgreSQL role that cannot disable the ledger's guards.

The schema's owner migrates and runs ``flask db grant-app-role``; the web app, the scheduler and
the workers run as the role it grants, which may only read and insert on the ledger.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from app.campaigns.scheduler import PERIODIC_JOBS, SchedulerService
from app.extensions import db
from app.ledger.models import Checkpoint
from app.ledger.proofs import make_checkpoint
from app.ledger.verify import verify_ledger
from tests.helpers import change_settings
from tests.integration.policy_files import put_in_force
from tests.integration.test_delivery_helpers import (
    Sink,
    audience,
    campaign_outbox,
    relaxed_policies,
)
from tests.integration.test_delivery_pipeline import run_worker

ROLE = "assenso_stores_app"
LEDGER = ("consent_events", "merkle_nodes", "checkpoints", "notices")


def _drop_role(owner_url: str) -> None:
    engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE}):
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"
                    ),
                    {"r": ROLE},
                )
                connection.execute(text(f"DROP OWNED BY {ROLE}"))
                connection.execute(text(f"DROP ROLE {ROLE}"))
    finally:
        engine.dispose()


@pytest.fixture
def role_url(engine_name, database_url, monkeypatch):
    """The application's URL under its own role, granted by the owner (PostgreSQL only)."""
    if engine_name != "postgresql":
        pytest.skip("database roles are a PostgreSQL matter")
    _drop_role(database_url)
    url = make_url(database_url).set(username=ROLE, password="app-secret")
    rendered = url.render_as_string(hide_password=False)
    monkeypatch.setenv("ASSENSO_APP_DATABASE_URL", rendered)
    yield rendered
    _drop_role(database_url)


@pytest.fixture
def granted(role_url, runner):
    """Run the owner's command, as ``make run-production`` does after migrating."""
    result = runner.invoke(args=["db", "grant-app-role"])
    assert result.exit_code == 0, result.output
    assert f"Created the role '{ROLE}'" in result.output
    return role_url


@pytest.mark.parametrize("table", LEDGER)
def test_the_app_role_cannot_disable_or_bypass_the_ledger_guards(granted, table):
    engine = create_engine(granted)
    try:
        refused = [
            f"ALTER TABLE {table} DISABLE TRIGGER ALL",
            f"ALTER TABLE {table} DISABLE TRIGGER USER",
            f"UPDATE {table} SET created_at = created_at" if table == "notices" else None,
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
            f"DROP TABLE {table}",
            "CREATE TABLE sneaky (id integer)",
        ]
        for statement in filter(None, refused):
            with (
                pytest.raises(ProgrammingError, match=r"must be owner|permission denied"),
                engine.begin() as connection,
            ):
                connection.execute(text(statement))
        with engine.connect() as connection:
            connection.execute(text(f"SELECT count(*) FROM {table}"))
            privileges = connection.execute(
                text(
                    "SELECT privilege_type FROM information_schema.role_table_grants "
                    "WHERE grantee = :r AND table_name = :t ORDER BY privilege_type"
                ),
                {"r": ROLE, "t": table},
            ).scalars()
            assert list(privileges) == ["INSERT", "SELECT"]
    finally:
        engine.dispose()


def test_the_app_signs_up_records_consent_sends_and_schedules_under_its_role(
    granted, app_factory, tmp_path
):
    policies = relaxed_policies(tmp_path / "policies")
    with Sink() as sink:
        app = app_factory(
            DATABASE_URL=granted,
            POLICY_DIR=policies,
            SMTP_PORT=sink.port,
            MAIL_FROM="Shop <news@shop.example>",
            SCHEDULER_LOCK_POLL_SECONDS=0.05,
            SCHEDULER_HEARTBEAT_SECONDS=0.1,
        )
        with app.app_context():
            assert db.session.scalar(text("SELECT current_user")) == ROLE
            put_in_force(db.session(), Path(policies))  # the owner's start recorded the shipped set
            people = audience(db.session(), 2)  # sign-ups and consents: ledger inserts
            campaign_outbox(db.session(), [person.id for person in people])
            make_checkpoint(db.session)
            assert db.session.scalar(select(func.count()).select_from(Checkpoint)) == 1
            assert verify_ledger(db.session).ok
        assert run_worker(app).sent == 2  # a delivery worker under the role
    service = SchedulerService(app)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        with app.app_context():
            stored: set[str] = set()
            while time.monotonic() < deadline and not set(PERIODIC_JOBS) <= stored:
                time.sleep(0.1)
                stored = set(db.session.scalars(text("SELECT id FROM apscheduler_jobs")))
                db.session.rollback()
        assert set(PERIODIC_JOBS) <= stored, "the scheduler did not store its jobs"
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()


def test_the_grant_refuses_a_role_that_could_alter_the_tables(granted, app, runner, database_url):
    change_settings(app, app_database_url=None)  # the role named with --role only
    owner = make_url(database_url).username
    result = runner.invoke(args=["db", "grant-app-role", "--role", owner])
    assert result.exit_code == 2 and "is a superuser" in result.output
    with db.engine.begin() as connection:
        connection.execute(text(f"GRANT {owner} TO {ROLE}"))  # ownership through membership
    result = runner.invoke(args=["db", "grant-app-role", "--role", ROLE])
    assert result.exit_code == 2
    assert "could disable the ledger's guards" in result.output


def test_roles_are_refused_on_sqlite_with_a_clear_message(engine_name, runner):
    if engine_name != "sqlite":
        pytest.skip("SQLite only")
    result = runner.invoke(args=["db", "grant-app-role", "--role", ROLE])
    assert result.exit_code == 2 and "PostgreSQL matter" in result.output
