# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""Rate limits per account and per address on every form that checks a password or mails."""

from __future__ import annotations

import socket
import time

import pytest

from app.accounts.service import create_staff_user
from app.extensions import db
from app.self_service.mail import wait_for_background_mail
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token, post_form
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
    sign_in_customer,
)

WRONG = "not the right password"


def _limited_app(app_factory, **settings):
    """An app with rate limits on (in-process memory) and CSRF checked as usual."""
    return app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **settings)


def _client_at(app, address: str):
    """A browser at client address ``address`` (the socket's, no proxy in front)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _try(client, email: str, password: str, path: str = "/staff/login"):
    """One sign-in attempt through the real form."""
    return post_form(client, path, {"email": email, "password": password})


def test_many_addresses_cannot_guess_one_accounts_password(app_factory):
    app = _limited_app(app_factory)
    email = create_staff_user_in(app, "target@staff.example.com")
    clients = [_client_at(app, f"198.51.100.{n}") for n in range(1, 13)]
    statuses = [_try(clients[n % 12], email, WRONG).status_code for n in range(120)]
    assert statuses.count(200) == 10  # ASSENSO_ACCOUNT_RATE_LIMIT: 10 failures per 15 minutes
    assert statuses[10:] == [429] * 110
    fresh = _client_at(app, "192.0.2.200")
    refused = _try(fresh, email, TEST_PASSWORD)
    assert refused.status_code == 429  # even the right password, until the window passes
    assert 800 < int(refused.headers["Retry-After"]) <= 900
    assert "Too many attempts" in refused.get_data(as_text=True)
    other = create_staff_user_in(app, "other@staff.example.com")
    assert _try(fresh, other, TEST_PASSWORD).status_code == 302  # other accounts unaffected


def create_staff_user_in(app, email: str) -> str:
    """Create a staff account in ``app`` and return its address."""
    with app.app_context():
        return create_staff_user(db.session, email, "marketer", TEST_PASSWORD).email


def test_the_right_password_works_again_once_the_window_passes(app_factory):
    app = _limited_app(app_factory, ACCOUNT_RATE_LIMIT="2 per 2 seconds")
    email = create_staff_user_in(app, "patient@staff.example.com")
    client = _client_at(app, "198.51.100.7")
    assert [_try(client, email, WRONG).status_code for _ in range(2)] == [200, 200]
    refused = _try(client, email, TEST_PASSWORD)
    assert refused.status_code == 429
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)
    assert _try(client, email, TEST_PASSWORD).status_code == 302


def test_successful_sign_ins_do_not_count_against_the_account(app_factory):
    app = _limited_app(app_factory, ACCOUNT_RATE_LIMIT="3 per minute")
    email = create_staff_user_in(app, "busy@staff.example.com")
    for n in range(5):
        assert _try(_client_at(app, f"198.51.100.{n + 1}"), email, TEST_PASSWORD).status_code == 302


def test_unknown_accounts_are_limited_exactly_like_real_ones(app_factory):
    app = _limited_app(app_factory, ACCOUNT_RATE_LIMIT="3 per minute")
    email = create_staff_user_in(app, "real@staff.example.com")
    for address in (email, "ghost@staff.example.com"):
        client = _client_at(app, "198.51.100.9" if address == email else "198.51.100.10")
        assert [_try(client, address, WRONG).status_code for _ in range(4)] == [200] * 3 + [429]


def test_a_forged_forwarded_header_does_not_reset_the_address_limit(app_factory):
    app = _limited_app(app_factory, LOGIN_RATE_LIMIT="3 per minute")
    client = _client_at(app, "198.51.100.20")
    statuses = [
        post_form(
            client,
            "/staff/login",
            {"email": f"x{n}@staff.example.com", "password": WRONG},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        ).status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


def test_behind_a_trusted_proxy_each_client_address_counts_alone(app_factory):
    app = _limited_app(app_factory, LOGIN_RATE_LIMIT="3 per minute", TRUSTED_PROXY_HOPS=1)
    proxy = _client_at(app, "10.0.0.2")

    def attempt(client_address: str, forged: str = "") -> int:
        forwarded = f"{forged}, {client_address}" if forged else client_address
        data = {"email": "x@staff.example.com", "password": WRONG}
        headers = {"X-Forwarded-For": forwarded}
        return post_form(proxy, "/staff/login", data, headers=headers).status_code

    assert [attempt("198.51.100.1", forged=f"203.0.113.{n}") for n in range(4)] == [200] * 3 + [429]
    assert attempt("198.51.100.2") == 200  # another client behind the same proxy


def test_password_change_is_limited_per_account(app_factory):
    app = _limited_app(app_factory, ACCOUNT_RATE_LIMIT="3 per minute")
    email = create_staff_user_in(app, "change@staff.example.com")
    client = _client_at(app, "198.51.100.30")
    assert _try(client, email, TEST_PASSWORD).status_code == 302
    data = {"current_password": WRONG, "new_password": "x" * 20, "confirm": "x" * 20}
    statuses = [post_form(client, "/account/password", data).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Retry-After" in post_form(client, "/account/password", data).headers


@pytest.fixture
def limited_portal(app_factory, mailbox):
    """The portal with rate limits on, sending e-mail to the test mailbox."""
    from app.demo.seed import seed_notices
    from tests.web.test_portal_support import PUBLIC_BASE

    app = _limited_app(
        app_factory,
        SMTP_PORT=mailbox[1],
        PUBLIC_BASE_URL=PUBLIC_BASE,
        ACCOUNT_RATE_LIMIT="3 per minute",
        ACCOUNT_MAIL_RATE_LIMIT="2 per hour",
    )
    with app.app_context():
        seed_notices(db.session)
        yield app


def test_account_deletion_is_limited_per_account(limited_portal):
    from app.accounts.passwords import hash_password
    from app.vault.service import register_customer

    register_customer(
        db.session, email="del@example.com", password_hash=hash_password(TEST_PASSWORD)
    )
    client = _client_at(limited_portal, "198.51.100.40")
    assert sign_in_customer(client, "del@example.com").status_code == 302
    data = {"password": WRONG}
    statuses = [
        post_form(client, "/me/account/delete", data, "/me/account").status_code for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    right = post_form(client, "/me/account/delete", {"password": TEST_PASSWORD}, "/me/account")
    assert right.status_code == 429  # nothing deleted while the account is locked


def test_reset_and_sign_up_mails_to_one_address_are_limited_together(limited_portal, mailbox):
    browsers = [_client_at(limited_portal, f"198.51.100.{n}") for n in range(50, 54)]
    forgot = {"email": "victim@example.com"}
    first = post_form(browsers[0], "/password/forgot", forgot)
    second = post_form(browsers[1], "/password/forgot", forgot)
    assert (first.status_code, second.status_code) == (302, 302)
    token = csrf_token(browsers[2], "/signup")
    signup = browsers[2].post(
        "/signup",
        data={
            "csrf_token": token,
            "email": "victim@example.com",
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
            "language": "en",
            "timezone": "Europe/Rome",
            "age_confirmed": "y",
        },
    )
    assert signup.status_code == 429
    assert post_form(browsers[3], "/password/forgot", forgot).status_code == 429
    wait_for_background_mail()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_store_refuses_sign_in_instead_of_counting_nothing(app_factory):
    app = app_factory(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_free_port()}"
    )
    email = create_staff_user_in(app, "blocked@staff.example.com")
    response = _try(app.test_client(), email, TEST_PASSWORD)
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert "Traceback" not in response.get_data(as_text=True)
