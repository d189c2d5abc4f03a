"""Signing in and out, password changes, rate limits, CSRF."""

from __future__ import annotations

from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token, post_form, sign_in


def test_wrong_password_is_refused_with_a_clear_message(client, create_staff):
    user = create_staff("marketer")
    response = sign_in(client, user.email, "not the password at all")
    assert response.status_code == 200
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/marketing/").status_code == 302


def test_unknown_account_gets_the_same_answer(client):
    response = sign_in(client, "nobody@staff.example.com", "whatever whatever")
    assert response.status_code == 200
    assert "do not match" in response.get_data(as_text=True)


def test_login_form_without_csrf_token_is_rejected(client, create_staff):
    user = create_staff("admin")
    response = client.post("/staff/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_next_parameter_cannot_redirect_elsewhere(client, create_staff):
    user = create_staff("admin")
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login?next=//evil.example.net/x",
        data={"csrf_token": token, "email": user.email, "password": TEST_PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_sign_out_ends_the_session(client, create_staff, login):
    user = create_staff("compliance_officer")
    login(user.email)
    assert client.get("/compliance/").status_code == 200
    response = post_form(client, "/logout", {}, form_page="/compliance/")
    assert response.status_code == 302
    assert client.get("/compliance/").status_code == 302


def test_changing_password_signs_out_other_sessions(app, create_staff):
    user = create_staff("marketer")
    first, second = app.test_client(), app.test_client()
    sign_in(first, user.email, TEST_PASSWORD)
    sign_in(second, user.email, TEST_PASSWORD)
    new_password = "a brand new long password"
    response = post_form(
        first,
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": new_password, "confirm": new_password},
    )
    assert response.status_code == 302
    assert first.get("/marketing/").status_code == 200
    assert second.get("/marketing/").status_code == 302
    assert sign_in(second, user.email, new_password).status_code == 302


def test_wrong_current_password_does_not_change_anything(client, create_staff, login):
    user = create_staff("marketer")
    login(user.email)
    response = post_form(
        client,
        "/account/password",
        {"current_password": "wrong wrong wrong", "new_password": "x" * 20, "confirm": "x" * 20},
    )
    assert response.status_code == 400
    assert "not correct" in response.get_data(as_text=True)
    assert client.get("/marketing/").status_code == 200


def test_sign_in_attempts_are_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [
        sign_in(client, "x@staff.example.com", "wrong password!").status_code for _ in range(5)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


def test_session_cookie_is_http_only_and_same_site(client, create_staff):
    user = create_staff("admin")
    response = sign_in(client, user.email, TEST_PASSWORD)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if "assenso_session" in h)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
