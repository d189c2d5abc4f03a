"""Production refuses the demo: no demo seed, no sign-in with a published password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app import create_app
from app.accounts.passwords import DEMO_STAFF_PASSWORD
from app.accounts.service import create_staff_user
from app.extensions import db
from config import generate_secrets
from tests.conftest import TEST_PASSWORD, IsolatedClient
from tests.helpers import CSRF_RE

HTTPS = "https://localhost"


@pytest.fixture
def production_app(monkeypatch, database_url, keystore_url) -> Iterator[Flask]:
    """The application under the production configuration, on this test's database."""
    for name, value in generate_secrets().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ASSENSO_KEYSTORE_URL", keystore_url)
    monkeypatch.delenv("ASSENSO_DEV_MAILBOX", raising=False)
    app = create_app("production", RATELIMIT_ENABLED=False)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _sign_in_over_https(app: Flask, email: str, password: str):
    """Sign in through the staff form over HTTPS (production cookies are Secure)."""
    client = app.test_client()
    page = client.get("/staff/login", base_url=HTTPS).get_data(as_text=True)
    match = CSRF_RE.search(page)
    token = match.group(1) or match.group(2)
    data = {"csrf_token": token, "email": email, "password": password}
    referer = {"Referer": f"{HTTPS}/staff/login"}  # checked on HTTPS (Flask-WTF's strict mode)
    return client.post("/staff/login", data=data, base_url=HTTPS, headers=referer)


def test_the_demo_seed_is_refused_in_production(production_app):
    result = production_app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 2
    assert "refused in production" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_a_published_demo_password_never_signs_in_in_production(production_app):
    create_staff_user(db.session, "admin@example.com", "admin", DEMO_STAFF_PASSWORD)
    create_staff_user(db.session, "real@example.com", "admin", TEST_PASSWORD)
    refused = _sign_in_over_https(production_app, "admin@example.com", DEMO_STAFF_PASSWORD)
    assert refused.status_code == 200
    assert "do not match" in refused.get_data(as_text=True)
    assert _sign_in_over_https(production_app, "real@example.com", TEST_PASSWORD).status_code == 302


def test_the_demo_password_still_signs_in_outside_production(app, create_staff):
    user = create_staff("admin", email="admin@example.com", password=DEMO_STAFF_PASSWORD)
    assert _sign_in_over_https(app, user.email, DEMO_STAFF_PASSWORD).status_code == 302


def test_production_answers_with_hsts_only_over_https(production_app):
    client = production_app.test_client()
    assert "Strict-Transport-Security" in client.get("/", base_url=HTTPS).headers
    plain = client.get("/", base_url="http://localhost")
    assert "Strict-Transport-Security" not in plain.headers
