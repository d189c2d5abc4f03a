"""A customer's whole journey in a real browser: sign up, confirm by e-mail, share, withdraw,
download, delete; every portal page checked with axe-core."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD
from tests.helpers import change_settings
from tests.web.test_portal_support import links_in, wait_for_mail


@pytest.fixture
def app(app_factory, mailbox):
    """The application under test, sending to the test mailbox, notices published."""
    from app.demo.seed import seed_notices
    from app.extensions import db

    application = app_factory(SMTP_PORT=mailbox[1])
    with application.app_context():
        seed_notices(db.session)
        yield application


def _no_violations(page, where: str) -> None:
    assert axe_violations(page) == [], where


def test_customer_journey(page, app, live_server, mailbox):
    change_settings(app, public_base_url=live_server)
    page.goto("/signup")
    _no_violations(page, "signup")
    page.get_by_label("E-mail address").fill("journey@example.com")
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_label("Repeat the password").fill(TEST_PASSWORD)
    page.get_by_label("I am at least 16 years old.").check()
    page.get_by_label("Offers newsletter by e-mail").check()
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("please check your mailbox").is_visible()
    _no_violations(page, "login after sign-up")
    page.get_by_label("E-mail address").fill("journey@example.com")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")
    page.goto("/me/contact")
    assert page.get_by_text("Waiting for confirmation").first.is_visible()
    _no_violations(page, "contact")

    (message,) = wait_for_mail(mailbox[0])
    (link,) = [item.removeprefix(live_server) for item in links_in(message)]
    page.goto(link)
    _no_violations(page, "confirm")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_role("heading", name="Thank you, your consent is confirmed").is_visible()

    page.goto("/me/data")
    _no_violations(page, "data")
    page.locator("#s-first_name-offers").check()
    page.get_by_role("button", name="Save sharing choices").click()
    assert page.get_by_text("Your sharing choices are saved.").is_visible()
    assert page.locator("#s-first_name-offers").is_checked()

    page.goto("/me/contact")
    page.get_by_role("button", name=re.compile(r"^Withdraw\W+Offers newsletter, E-mail")).click()
    assert page.get_by_text("Withdrawn.").is_visible()

    page.goto("/me/history")
    _no_violations(page, "history")
    page.get_by_role("link", name="View receipt 1").click()
    _no_violations(page, "receipt")
    page.goto("/me/")
    _no_violations(page, "home")

    page.goto("/me/account")
    _no_violations(page, "account")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    assert download.value.suggested_filename == "assenso-my-data.json"
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Delete my account and data").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_text("Your account and data are deleted.").is_visible()


def test_public_portal_pages_in_italian_are_accessible(page):
    page.goto("/signup")
    with page.expect_navigation():
        page.locator("#lang-switch").select_option("it")  # submits by itself (portal.js)
    assert page.get_by_role("heading", name="Crea il tuo account").is_visible()
    assert page.locator("html").get_attribute("lang") == "it"
    _no_violations(page, "signup it")
    for path in ("/password/forgot", "/password/reset/not-a-token", "/me/refine/not-a-token"):
        page.goto(path)
        _no_violations(page, path)
