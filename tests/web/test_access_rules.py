"""Deny by default: every endpoint declares its rule, and each role stays in its own area."""

from __future__ import annotations

import pytest

from app.web.access import PUBLIC, rule_for
from tests.web.urls import concrete_url, routes_of

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


def test_anonymous_users_are_sent_to_sign_in_for_every_protected_page(app, client):
    for rule, url in routes_of(app, method="GET"):
        if rule_for(app, rule.endpoint) == PUBLIC:
            continue
        response = client.get(url)
        assert response.status_code in (302, 401), (rule.endpoint, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_each_staff_role_is_refused_the_other_areas(app, client, create_staff, login, role):
    user = create_staff(role)
    login(user.email)
    for rule, url in routes_of(app, method="GET"):
        allowed = rule_for(app, rule.endpoint)
        if allowed == PUBLIC or role in allowed:
            continue
        response = client.get(url)
        assert response.status_code == 403, (role, rule.endpoint, response.status_code)


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
