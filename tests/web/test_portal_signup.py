# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""Sign-up with explicit consents and double opt-in, password reset, language switcher."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.ledger.models import ConsentEvent, ConsentState, Notice
from app.outbox.models import SendLog
from app.self_service.mail import wait_for_background_mail
from app.vault.directory import find_customer_by_email
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token, post_form
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    links_in,
    mailbox,
    portal_app,
    portal_client,
    sign_in_customer,
    wait_for_mail,
)

NEW_PASSWORD = "a completely different passphrase"


def _signup(client, **overrides):
    notice = db.session.scalar(select(Notice.id).where(Notice.purpose == "offers"))
    data = {
        "csrf_token": csrf_token(client, "/signup"),
        "email": "ann@example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "language": "en",
        "timezone": "Europe/Rome",
        "age_confirmed": "y",
        "consent": ["offers:email"],
        "notice-offers": str(notice),
    }
    data.update(overrides)
    return client.post("/signup", data=data)


def test_signup_page_shows_notices_and_nothing_ticked(portal_client):
    page = portal_client.get("/signup").get_data(as_text=True)
    assert 'name="consent"' in page and "checked" not in page
    assert "at least 16 years old" in page
    assert '<pre class="notice"' in page


def test_signup_records_pending_consent_and_double_opt_in_confirms_it(portal_client, mailbox):
    response = _signup(portal_client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert portal_client.get("/me/contact").status_code == 302  # sign-up does not sign in
    assert sign_in_customer(portal_client, "ann@example.com").status_code == 302
    customer = find_customer_by_email(db.session, "ann@example.com")
    state = db.session.get(ConsentState, (customer.id, "offers", "email"))
    assert state.status == "pending" and not customer.email_verified
    assert "Waiting for confirmation" in portal_client.get("/me/contact").get_data(as_text=True)

    (message,) = wait_for_mail(mailbox[0])
    assert message.summary.recipient == "ann@example.com"
    (link,) = links_in(message)
    assert portal_client.get(link).status_code == 200  # a GET alone never confirms
    assert db.session.get(ConsentState, (customer.id, "offers", "email")).status == "pending"
    done = portal_client.post(link, data={"csrf_token": csrf_token(portal_client, link)})
    assert done.status_code == 200
    db.session.expire_all()
    assert db.session.get(ConsentState, (customer.id, "offers", "email")).status == "granted"
    assert db.session.get(type(customer), customer.id).email_verified
    sent = db.session.scalars(select(SendLog)).all()
    assert [(s.purpose, s.transactional) for s in sent] == [("service", True)]
    again = portal_client.post(link, data={"csrf_token": csrf_token(portal_client, link)})
    assert again.status_code == 400


def test_signup_refuses_missing_age_and_weak_passwords(portal_client):
    assert _signup(portal_client, age_confirmed="").status_code == 400
    assert _signup(portal_client, password="short", confirm="short").status_code == 400
    common = "password1234"
    response = _signup(portal_client, password=common, confirm=common)
    assert response.status_code == 400
    assert "too common" in response.get_data(as_text=True)
    mine = "ann@example.com and more"
    response = _signup(portal_client, password=mine, confirm=mine)
    assert response.status_code == 400
    assert "e-mail address in your password" in response.get_data(as_text=True)
    assert find_customer_by_email(db.session, "ann@example.com") is None


def test_signup_answers_alike_for_an_existing_address_and_tells_its_owner(
    portal_app, create_customer, mailbox
):
    new, taken = portal_app.test_client(), portal_app.test_client()
    create_customer("ann@example.com")
    first = _signup(new, email="bob@example.com", consent=[])
    again = _signup(taken, email="ann@example.com")
    assert (first.status_code, first.headers["Location"]) == (302, "/login")
    assert (again.status_code, again.headers["Location"]) == (302, "/login")
    assert _flashes(new) == _flashes(taken)
    assert db.session.scalar(select(ConsentEvent.seq)) is None  # nothing recorded for ann
    assert (
        sign_in_customer(taken, "ann@example.com", "another strong passphrase").status_code == 200
    )
    messages = {m.summary.recipient: m for m in wait_for_mail(mailbox[0], 2)}
    assert "already has one" in messages["ann@example.com"].text
    assert "your account is ready" in messages["bob@example.com"].text
    (login, forgot) = links_in(messages["ann@example.com"])
    assert (login, forgot) == ("/login", "/password/forgot")


def _flashes(client) -> str:
    """The messages shown on the page the sign-up redirected to."""
    page = client.get("/login").get_data(as_text=True)
    flashes = page.split('<div class="flashes"')[1].split("</div>")[0]
    assert "check your mailbox" in flashes
    return flashes


def test_signup_sms_consent_needs_a_phone(portal_client):
    response = _signup(portal_client, consent=["offers:sms"])
    assert response.status_code == 400
    assert "mobile number" in response.get_data(as_text=True)


def test_password_reset_link_is_single_use_and_signs_out_everywhere(
    portal_app, create_customer, mailbox
):
    create_customer("bea@example.com")
    first, second = portal_app.test_client(), portal_app.test_client()
    sign_in_customer(first, "bea@example.com")
    token = csrf_token(second, "/password/forgot")
    answer = second.post("/password/forgot", data={"csrf_token": token, "email": "bea@example.com"})
    assert answer.status_code == 302
    wait_for_background_mail()
    (link,) = links_in(wait_for_mail(mailbox[0])[0])
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    done = second.post(link, data={"csrf_token": csrf_token(second, link), **data})
    assert done.status_code == 302
    assert first.get("/me/").status_code == 302  # the old session is gone
    assert second.get(link).status_code == 400  # used once, never again
    assert sign_in_customer(second, "bea@example.com", NEW_PASSWORD).status_code == 302


def test_password_reset_answers_the_same_for_unknown_addresses(portal_client, mailbox):
    token = csrf_token(portal_client, "/password/forgot")
    answer = portal_client.post(
        "/password/forgot", data={"csrf_token": token, "email": "nobody@example.com"}
    )
    assert answer.status_code == 302
    wait_for_background_mail()
    assert mailbox[0].names() == []
    assert portal_client.get("/password/reset/forged").status_code == 400


def test_signup_and_reset_are_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, SIGNUP_RATE_LIMIT="2 per minute")
    client = app.test_client()
    with app.app_context():
        token = csrf_token(client, "/password/forgot")
    data = {"csrf_token": token, "email": "x@example.com"}
    codes = [client.post("/password/forgot", data=data).status_code for _ in range(3)]
    assert codes == [302, 302, 429]


def test_language_switcher_translates_the_portal(portal_client, create_customer):
    token = csrf_token(portal_client, "/signup")
    portal_client.post("/language", data={"csrf_token": token, "lang": "it", "next": "/signup"})
    page = portal_client.get("/signup").get_data(as_text=True)
    assert '<html lang="it">' in page and "Crea il tuo account" in page
    create_customer("it@example.com", language="it")
    other = portal_client.application.test_client()
    sign_in_customer(other, "it@example.com")
    assert "I tuoi dati" in other.get("/me/data").get_data(as_text=True)


def test_an_italian_sign_up_is_welcomed_in_italian(portal_client, mailbox):
    response = _signup(portal_client, email="gio@example.com", language="it", consent=[])
    assert response.status_code == 302
    page = portal_client.get("/login").get_data(as_text=True)
    assert "controlla la tua casella di posta" in page
    (message,) = wait_for_mail(mailbox[0])
    assert "il tuo account è pronto" in message.text


def test_a_reset_password_may_not_hold_the_email_address(portal_app, create_customer, mailbox):
    create_customer("bea.bianchi@example.com")
    client = portal_app.test_client()
    token = csrf_token(client, "/password/forgot")
    client.post("/password/forgot", data={"csrf_token": token, "email": "bea.bianchi@example.com"})
    wait_for_background_mail()
    (link,) = links_in(wait_for_mail(mailbox[0])[0])
    mine = "Bea.Bianchi and her garden"
    data = {"csrf_token": csrf_token(client, link), "password": mine, "confirm": mine}
    refused = client.post(link, data=data)
    assert refused.status_code == 400
    assert "e-mail address in your password" in refused.get_data(as_text=True)
    assert sign_in_customer(client, "bea.bianchi@example.com").status_code == 302


def test_a_customer_password_change_follows_the_policy(portal_app, create_customer):
    create_customer("carla.verdi@example.com")
    client = portal_app.test_client()
    sign_in_customer(client, "carla.verdi@example.com")

    def change(new: str):
        data = {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new}
        return post_form(client, "/account/password", data)

    for refused, reason in [
        ("carla.verdi rides again", "e-mail address"),
        ("iloveyou12345", "too common"),
    ]:
        answer = change(refused)
        assert answer.status_code == 400
        assert reason in answer.get_data(as_text=True)
    assert change(NEW_PASSWORD).status_code == 302
    assert client.get("/me/").status_code == 200  # this browser stays signed in
