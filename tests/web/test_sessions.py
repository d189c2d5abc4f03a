# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""Server-side sessions: sign-out, idle timeout, lifetime and revocation hold for copied cookies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import SignInSession
from app.accounts.sessions import token_digest
from app.extensions import db
from app.settings import current_settings
from app.web.auth_session import SESSION_KEY
from tests.conftest import TEST_PASSWORD
from tests.helpers import change_settings, post_form, sign_in
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
    portal_client,
    sign_in_customer,
)

COOKIE = "assenso_session"


def _copy_cookie(source, target) -> None:
    """Give ``target`` the session cookie ``source`` holds (a stolen or copied cookie)."""
    target.set_cookie(COOKIE, source.get_cookie(COOKIE).value)


def _session_id(app, client) -> str:
    """The server-side session id inside a client's signed cookie."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(client.get_cookie(COOKIE).value)[SESSION_KEY]


def _age(**fields: timedelta) -> None:
    """Move the named timestamps of every session back in time by the given amounts."""
    for record in _records():
        for name, by in fields.items():
            setattr(record, name, getattr(record, name) - by)
    db.session.commit()


def _records():
    db.session.expire_all()
    return db.session.scalars(select(SignInSession).order_by(SignInSession.id)).all()


def test_a_cookie_copied_before_sign_out_opens_nothing_afterwards(portal_app, create_customer):
    create_customer("ann@example.com")
    browser, thief = portal_app.test_client(), portal_app.test_client()
    assert sign_in_customer(browser, "ann@example.com").status_code == 302
    _copy_cookie(browser, thief)
    assert thief.get("/me/data").status_code == 200  # the copy works while signed in
    assert post_form(browser, "/logout", {}, form_page="/me/").status_code == 302
    for forwarded in (None, "127.0.0.1", "203.0.113.9"):
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        assert thief.get("/me/data", headers=headers).status_code == 302
    (record,) = _records()
    assert record.ended_by == "signed out"


def test_only_a_digest_of_the_session_id_is_stored(app, client, create_staff):
    user = create_staff("admin")
    sign_in(client, user.email, TEST_PASSWORD)
    token = _session_id(app, client)
    (record,) = _records()
    assert record.token_hash == token_digest(token) != token
    assert (record.account_kind, record.account_id) == ("staff", user.id)
    assert record.expires_at - record.created_at == timedelta(hours=8)


def test_an_idle_session_ends(app, client, create_staff):
    user = create_staff("marketer")
    sign_in(client, user.email, TEST_PASSWORD)
    assert client.get("/marketing/").status_code == 200
    idle = current_settings(app).staff_session_idle_minutes
    _age(last_seen_at=timedelta(minutes=idle, seconds=1))
    assert client.get("/marketing/").status_code == 302
    (record,) = _records()
    assert record.ended_by == "idle timeout"


def test_activity_keeps_a_session_open_and_is_recorded_sparingly(app, client, create_staff):
    user = create_staff("marketer")
    sign_in(client, user.email, TEST_PASSWORD)
    (record,) = _records()
    signed_in_at = record.last_seen_at
    client.get("/marketing/")
    assert _records()[0].last_seen_at == signed_in_at  # no write for every request
    _age(last_seen_at=timedelta(minutes=29))
    assert client.get("/marketing/").status_code == 200
    assert _records()[0].last_seen_at > signed_in_at - timedelta(seconds=1)


def test_a_session_ends_at_its_lifetime_however_active(app, client, create_staff):
    user = create_staff("admin")
    sign_in(client, user.email, TEST_PASSWORD)
    _age(expires_at=timedelta(hours=8, seconds=1))
    assert client.get("/admin/").status_code == 302


def test_customers_sessions_have_their_own_limits(portal_app, create_customer):
    change_settings(portal_app, customer_session_hours=2)
    create_customer("ann@example.com")
    client = portal_app.test_client()
    sign_in_customer(client, "ann@example.com")
    (record,) = _records()
    assert record.account_kind == "customer"
    assert record.expires_at - record.created_at == timedelta(hours=2)


def test_sign_out_everywhere_ends_every_session(app, create_staff):
    user = create_staff("compliance_officer")
    first, second = app.test_client(), app.test_client()
    sign_in(first, user.email, TEST_PASSWORD)
    sign_in(second, user.email, TEST_PASSWORD)
    post_form(first, "/logout/everywhere", {}, form_page="/compliance/")
    assert second.get("/compliance/").status_code == 302
    assert first.get("/compliance/").status_code == 302
    assert {r.ended_by for r in _records()} == {"signed out everywhere"}


def test_a_password_change_ends_the_other_sessions_for_good(app, create_staff):
    user = create_staff("marketer")
    first, second = app.test_client(), app.test_client()
    sign_in(first, user.email, TEST_PASSWORD)
    sign_in(second, user.email, TEST_PASSWORD)
    new = "a brand new long password"
    post_form(
        first,
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new},
    )
    assert first.get("/marketing/").status_code == 200
    assert second.get("/marketing/").status_code == 302
    ended = [r.ended_by for r in _records()]
    assert ended == ["password changed", "password changed", None]  # the third is first's new one


def test_disabled_staff_lose_their_sessions(app, runner, create_staff):
    user = create_staff("admin")
    client = app.test_client()
    sign_in(client, user.email, TEST_PASSWORD)
    result = runner.invoke(args=["users", "disable", "--email", user.email])
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302
    assert _records()[0].ended_by == "account disabled"
    assert sign_in(app.test_client(), user.email, TEST_PASSWORD).status_code == 200


def test_deleting_the_account_ends_its_sessions(portal_app, create_customer):
    create_customer("ann@example.com")
    browser, other = portal_app.test_client(), portal_app.test_client()
    sign_in_customer(browser, "ann@example.com")
    sign_in_customer(other, "ann@example.com")
    response = post_form(browser, "/me/account/delete", {"password": TEST_PASSWORD}, "/me/account")
    assert response.status_code == 302
    assert other.get("/me/data").status_code == 302
    assert {r.ended_by for r in _records()} <= {"account deleted", "signed out"}


def test_a_session_planted_before_sign_in_is_replaced(app, create_staff):
    user = create_staff("admin")
    attacker, victim = app.test_client(), app.test_client()
    attacker.get("/staff/login")
    _copy_cookie(attacker, victim)  # the attacker fixes the victim's cookie
    sign_in(victim, user.email, TEST_PASSWORD)
    assert victim.get("/admin/").status_code == 200
    assert attacker.get("/admin/").status_code == 302
