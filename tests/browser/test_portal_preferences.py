"""The preference centre in a real browser: finding sign-up, reading it in Italian, an
objection and how to lift it, text messages without a gateway, and two windows at once."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def app(app_factory, mailbox):
    """The application with notices published and one customer who agreed to offers by e-mail."""
    from app.accounts.passwords import hash_password
    from app.demo.seed import seed_notices
    from app.extensions import db
    from app.ledger.consent import grant
    from app.ledger.notices import current_notice
    from app.vault.service import register_customer

    application = app_factory(SMTP_PORT=mailbox[1])
    with application.app_context():
        seed_notices(db.session)
        customer = register_customer(
            db.session,
            email="eva@example.com",
            profile={"first_name": "Eva"},
            password_hash=hash_password(TEST_PASSWORD),
            language="en",
            age_attested=16,
        )
        grant(
            db.session,
            customer,
            purpose="offers",
            channel="email",
            notice=current_notice(db.session, "offers", "en"),
            source="portal",
            method="web_form",
            actor="customer",
            skip_double_opt_in=True,
        )
        yield application


def _sign_in(page) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill("eva@example.com")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")


def test_sign_up_and_a_forgotten_password_are_one_click_away(page):
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    assert page.get_by_role("heading", name="Create your account").is_visible()
    page.goto("/")
    page.get_by_role("link", name="Forgotten password?").click()
    assert page.get_by_role("heading", name="Forgotten password").is_visible()
    page.goto("/login")
    page.get_by_role("link", name="Create an account").click()
    page.wait_for_url("**/signup")
    page.goto("/login")
    page.get_by_role("link", name="Forgotten password?").click()
    page.wait_for_url("**/password/forgot")


def test_the_portal_in_italian_objection_and_lifting_it(page):
    _sign_in(page)
    with page.expect_navigation():
        page.locator("#lang-switch").select_option("it")
    assert page.locator("html").get_attribute("lang") == "it"
    nav = page.get_by_role("navigation", name="Principale")
    assert nav.get_by_role("link", name="Panoramica").is_visible()
    page.goto("/me/contact")
    assert page.get_by_text(
        "Le nostre offerte e promozioni, sui canali che scegli tu."
    ).is_visible()
    page.get_by_role("button", name="Opponiti a tutto il marketing diretto").click()
    assert page.get_by_text("Fermato dalla tua opposizione", exact=True).first.is_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Revoca la mia opposizione").click()
    assert page.get_by_text("La tua opposizione è revocata.").is_visible()
    assert page.get_by_text("Fermato dalla tua opposizione", exact=True).count() == 0


def test_text_messages_are_not_offered_without_a_gateway(page):
    _sign_in(page)
    page.goto("/me/contact")
    assert page.get_by_text("we cannot send text messages yet").first.is_visible()
    assert (
        page.get_by_role(
            "link", name=re.compile(r"^Give consent\W+Offers newsletter, Text")
        ).count()
        == 0
    )


def test_a_second_window_keeps_what_was_typed_and_the_zone_picker(page):
    _sign_in(page)
    other = page.context.new_page()
    page.goto("/me/data")
    other.goto("/me/data")
    page.get_by_role("textbox", name="First name").fill("Evelyn")
    page.get_by_role("button", name="Save my information").click()
    assert page.get_by_text("Saved.").is_visible()
    other.get_by_role("textbox", name="First name").fill("Eve")
    other.get_by_role("textbox", name="City").fill("Bologna")
    other.get_by_role("button", name="Save my information").click()
    assert other.get_by_text("What you entered is kept below").is_visible()
    assert other.get_by_role("textbox", name="First name").input_value() == "Eve"
    assert other.get_by_role("textbox", name="City").input_value() == "Bologna"
    other.get_by_role("button", name="Save my information").click()
    assert other.get_by_text("Saved.").is_visible()
    assert other.get_by_role("textbox", name="First name").input_value() == "Eve"
    zone = other.get_by_label("Time zone", exact=True)
    assert zone.locator("option").first.inner_text().startswith("Rome (UTC")
    assert zone.locator("optgroup").first.get_attribute("label") == "Europe"
