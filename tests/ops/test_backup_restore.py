"""Backup and restore of the main database as docs/OPERATIONS.md gives it.

A populated database (customers, consents, ledger events, a checkpoint) is dumped with
``pg_dump``, restored with ``pg_restore`` into a new database and analysed; there, with the
live key store (replicated, never restored from a backup), ``flask ledger verify``, ``flask
vault status`` and ``flask vault check`` pass.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.ledger.proofs import make_checkpoint
from tests.integration.test_delivery_helpers import audience, free_port
from tests.ops.stack import PG_URL, ROOT, Databases, Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not PG_URL, reason="backups of PostgreSQL need PostgreSQL"),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="pg_dump and pg_restore are not installed",
    ),
]
TABLES = ("customers", "consent_events", "consent_state", "checkpoints", "database_identity")


@pytest.fixture
def databases():
    """The database to back up, and the one to restore into; both dropped afterwards."""
    source, target = Databases.named("backup"), Databases.named("restored")
    source.create()
    target.create()
    yield source, target
    source.drop()
    target.drop()


def _libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {t: connection.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}
    finally:
        engine.dispose()


def _flask(settings: Settings, database_url: str, *args: str) -> subprocess.CompletedProcess:
    environment = settings.environment(DATABASE_URL=database_url, DATABASE_URL_FILE="")
    return subprocess.run(
        ["flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_restored_dump_verifies_with_the_live_key_store(databases, tmp_path):
    source, target = databases
    settings = Settings(tmp_path, source, free_port())
    settings.as_owner("db", "upgrade")
    app = create_app("testing", **settings.app_overrides())
    with app.app_context():
        audience(db.session(), 5)
        make_checkpoint(db.session)
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    dump = tmp_path / "assenso.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), _libpq(source.owner_url)],
        check=True,
        timeout=120,
    )
    restored = target.owner_url
    subprocess.run(
        ["pg_restore", "--exit-on-error", "--no-owner", "--dbname", _libpq(restored), str(dump)],
        check=True,
        timeout=120,
    )
    engine = create_engine(restored, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))  # a restore brings no planner statistics
    finally:
        engine.dispose()
    assert _counts(restored) == _counts(source.owner_url)
    assert _counts(restored)["consent_events"] >= 5

    verified = _flask(settings, restored, "ledger", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    status = _flask(settings, restored, "vault", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "active master key version: 1" in status.stdout
    check = _flask(settings, restored, "vault", "check")
    assert check.returncode == 0, check.stdout + check.stderr
