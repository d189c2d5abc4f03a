"""Deny by default: every endpoint declares its rule, and each role stays in its own area."""

from __future__ import annotations

import pytest
from flask import abort, request

from app.accounts.passwords import hash_password
from app.vault.erasure import erase_customer
from app.web.access import PUBLIC, rule_for
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token, sign_in
from tests.integration.builders import make_customer
from tests.web.urls import concrete_url

ROLES = ("admin", "marketer", "compliance_officer")
AREAS = {
    "admin": "admin.",
    "marketer": "marketing.",
    "compliance_officer": "compliance.",
    "customer": "portal.",
}


def test_every_endpoint_declares_an_access_rule(app):
    missing = [
        rule.endpoint for rule in app.url_map.iter_rules() if rule_for(app, rule.endpoint) is None
    ]
    assert missing == []


def test_an_endpoint_without_a_rule_is_refused(app_factory):
    app = app_factory()

    @app.get("/forgotten")
    def forgotten():
        return "should never be served"

    assert app.test_client().get("/forgotten").status_code == 403


#: Who may be behind a request: each role, nobody, and accounts that may no longer sign in.
IDENTITIES = (
    "anonymous",
    "customer",
    "marketer",
    "compliance_officer",
    "admin",
    "disabled_staff",
    "erased_customer",
)
#: The role each identity acts with (a disabled or erased account acts as nobody).
ROLE_OF = {role: role for role in ("customer", "marketer", "compliance_officer", "admin")}
#: Header of the probe: a POST that passes the access rule answers 418 before its view acts.
PROBE = "X-Access-Probe"


def _probe_after_access_rules(app) -> None:
    """Answer 418 to probing requests that the access rule let through, so no action runs."""

    @app.before_request
    def probe():
        if request.endpoint is not None and request.headers.get(PROBE):
            abort(418)


def _become(identity: str, client, session, create_staff, runner) -> str:
    """Sign ``client`` in as ``identity``; returns a CSRF token of its session."""
    if identity == "anonymous":
        return csrf_token(client, "/login")
    if identity in ("customer", "erased_customer"):
        email = f"{identity}@example.org"
        customer = make_customer(session, email=email, password_hash=hash_password(TEST_PASSWORD))
        sign_in(client, email, TEST_PASSWORD, staff=False)
    else:
        email = create_staff(ROLE_OF.get(identity, "marketer")).email
        sign_in(client, email, TEST_PASSWORD)
    token = csrf_token(client, "/account/password")
    if identity == "disabled_staff":
        assert runner.invoke(args=["users", "disable", "--email", email]).exit_code == 0
    if identity == "erased_customer":
        erase_customer(session, customer, actor="test", reason="access matrix")
    return token


def _outcome(response) -> str:
    """What the access rules decided: ``deny`` (401, 403, sent to sign in) or ``allow``."""
    if response.status_code in (401, 403):
        return "deny"
    if response.status_code in (301, 302, 303) and "/login" in response.headers["Location"]:
        return "deny"
    return "allow"


@pytest.mark.parametrize("identity", IDENTITIES)
def test_every_route_allows_and_denies_each_identity_as_declared(
    app, client, session, create_staff, runner, identity
):
    """The whole access matrix, from the URL map: a new route cannot be forgotten."""
    _probe_after_access_rules(app)
    token = _become(identity, client, session, create_staff, runner)
    role = ROLE_OF.get(identity)  # a disabled or erased account acts as nobody
    wrong = []
    for rule in app.url_map.iter_rules():
        declared = rule_for(app, rule.endpoint)
        expected = "allow" if declared == PUBLIC or role in declared else "deny"
        url = concrete_url(rule)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token}, headers={PROBE: "1"})
            response.close()
            if _outcome(response) != expected:
                wrong.append((method, rule.endpoint, response.status_code, expected))
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lands_on_its_own_home(client, create_staff, login, role):
    user = create_staff(role)
    response = login(user.email)
    assert response.status_code == 302
    area = AREAS[role].rstrip(".")
    assert response.headers["Location"].startswith(
        {"admin": "/admin", "marketing": "/marketing", "compliance": "/compliance"}[area]
    )
    assert client.get(response.headers["Location"]).status_code == 200


def test_concrete_url_fills_arguments(app):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "static")
    assert concrete_url(rule).startswith("/static/")
