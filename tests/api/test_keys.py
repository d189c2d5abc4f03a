"""API keys: shown once, stored as a keyed hash, scoped, limited, revocable; no cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.integrations.api_keys import SCOPES
from app.integrations.models import ApiKey
from app.models_base import utcnow
from app.web.access import ApiKeyRule, rule_for
from tests.conftest import TEST_PASSWORD
from tests.helpers import sign_in
from tests.integration.builders import make_customer
from tests.web.urls import concrete_url

DECISION = {"customer": {"reference": "r"}, "purpose": "offers", "channel": "email"}


def test_the_command_prints_the_key_once_and_stores_only_a_keyed_hash(runner, session, client):
    result = runner.invoke(
        args=["api-keys", "create", "--name", "crm", "--scope", "decisions:read"]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("ak_")
    row = session.scalar(select(ApiKey).where(ApiKey.name == "crm"))
    assert secret.split("_", 2)[2] not in row.secret_hash
    assert row.secret_hash.startswith("v")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/v1/decisions", json=DECISION, headers=headers).status_code == 200
    assert session.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "crm")) is not None
    listed = runner.invoke(args=["api-keys", "list"]).output
    assert "crm" in listed and secret not in listed


def test_bad_command_input_is_a_message_not_a_traceback(runner):
    result = runner.invoke(
        args=[
            "api-keys",
            "create",
            "--name",
            "x",
            "--scope",
            "decisions:read",
            "--rate-limit",
            "lots",
        ]
    )
    assert result.exit_code == 2
    assert "rate limit" in result.output
    assert runner.invoke(args=["api-keys", "revoke", "--name", "nobody"]).exit_code == 2


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic abc", "Bearer ak_000000000000_wrong", "Bearer nonsense"],
)
def test_calls_without_a_live_key_are_refused_as_problems(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post("/api/v1/decisions", json=DECISION, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_expired_keys_are_refused(api, make_key, runner, session):
    expiring = make_key("decisions:read", expires_at=utcnow() + timedelta(seconds=1))
    session.execute(ApiKey.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert api.post("/decisions", json=DECISION, key=expiring).status_code == 401
    revoked = make_key("decisions:read", name="to revoke")
    assert api.post("/decisions", json=DECISION, key=revoked).status_code == 200
    assert runner.invoke(args=["api-keys", "revoke", "--name", "to revoke"]).exit_code == 0
    assert api.post("/decisions", json=DECISION, key=revoked).status_code == 401


def test_a_signed_in_session_is_never_accepted(client, session):
    make_customer(session, email="cookie@example.org", password_hash=None)
    from app.accounts.passwords import hash_password

    customer = make_customer(
        session, email="cookie2@example.org", password_hash=hash_password(TEST_PASSWORD)
    )
    assert customer.id
    sign_in(client, "cookie2@example.org", TEST_PASSWORD, staff=False)
    response = client.post("/api/v1/decisions", json=DECISION)
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def _api_routes(app):
    for rule in app.url_map.iter_rules():
        declared = rule_for(app, rule.endpoint)
        if isinstance(declared, ApiKeyRule):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield method, concrete_url(rule), declared.scopes


def test_every_api_route_refuses_a_key_without_its_scope(app, api, make_key):
    routes = list(_api_routes(app))
    assert len(routes) >= 2
    for method, url, scopes in routes:
        others = [scope for scope in SCOPES if scope not in scopes]
        key = make_key(*others)
        path = url.removeprefix("/api/v1")
        response = (
            api.get(path, key=key)
            if method == "GET"
            else api.post(path, json={}, key=key)
            if method == "POST"
            else api.delete(path, key=key)
        )
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.get_json()["required_scopes"] == list(scopes)


def test_each_key_has_its_own_rate_limit(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True)
    client = app.test_client()
    from app.extensions import db
    from app.integrations.api_keys import create_key

    with app.app_context():
        _row, slow = create_key(
            db.session,
            name="slow",
            scopes=["decisions:read"],
            created_by="t",
            rate_limit="2 per minute",
        )
        _row, other = create_key(
            db.session, name="other", scopes=["decisions:read"], created_by="t"
        )
    codes = [
        client.post(
            "/api/v1/decisions", json=DECISION, headers={"Authorization": f"Bearer {slow}"}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    refused = client.post(
        "/api/v1/decisions", json=DECISION, headers={"Authorization": f"Bearer {slow}"}
    )
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.mimetype == "application/problem+json"
    fine = client.post(
        "/api/v1/decisions", json=DECISION, headers={"Authorization": f"Bearer {other}"}
    )
    assert fine.status_code == 200
