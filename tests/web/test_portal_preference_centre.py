# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""The preference centre's paths a customer relies on: finding sign-up and a forgotten
password, an objection and how to lift it, and only true answers about text messages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.customers.models import Customer
from app.extensions import db
from app.ledger.consent import grant
from app.ledger.models import ConsentEvent, ConsentState
from app.ledger.notices import current_notice
from tests.helpers import change_settings, csrf_token
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
    portal_client,
    sign_in_customer,
)


def _grant(customer, purpose: str, channel: str = "email") -> None:
    grant(
        db.session,
        customer,
        purpose=purpose,
        channel=channel,
        notice=current_notice(db.session, purpose, "en"),
        source="portal",
        method="web_form",
        actor="customer",
        skip_double_opt_in=True,
    )


@pytest.fixture
def ann(create_customer, portal_client) -> Customer:
    """A signed-in customer who agreed to offers and birthday messages by e-mail."""
    customer = create_customer("ann@example.com", first_name="Ann", phone="+393331234567")
    _grant(customer, "offers")
    _grant(customer, "birthday")
    sign_in_customer(portal_client, "ann@example.com")
    return customer


def _post(client, path: str, page: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


@pytest.mark.parametrize("page", ["/", "/login"])
def test_sign_up_and_forgotten_password_are_one_click_away(portal_client, page):
    html = portal_client.get(page).get_data(as_text=True)
    assert 'href="/signup"' in html and "Create an account" in html
    assert 'href="/password/forgot"' in html and "Forgotten password?" in html


def test_staff_sign_in_does_not_offer_customer_sign_up(portal_client):
    html = portal_client.get("/staff/login").get_data(as_text=True)
    assert 'href="/signup"' not in html


def test_an_objection_shows_each_stopped_choice_and_one_action_lifts_it(portal_client, ann):
    assert _post(portal_client, "/me/contact/object", "/me/contact").status_code == 302
    page = portal_client.get("/me/contact").get_data(as_text=True)
    assert page.count("Stopped by your objection</span>") == 2  # offers and birthday e-mail
    assert 'class="badge ok">Yes' not in page
    assert page.count('action="/me/contact/object/withdraw"') == 1
    home = portal_client.get("/me/").get_data(as_text=True)
    assert home.count("Stopped by your objection</span>") == 2

    lifted = _post(portal_client, "/me/contact/object/withdraw", "/me/contact")
    assert lifted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, ann.id).objected_at is None
    actions = db.session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.seq)).all()
    assert actions[-2:] == ["objected", "objection_withdrawn"]
    page = portal_client.get("/me/contact").get_data(as_text=True)
    assert "Your objection is lifted" in page
    assert "Stopped by your objection</span>" not in page
    assert page.count('class="badge ok">Yes') == 2
    assert db.session.get(ConsentState, (ann.id, "offers", "email")).status == "granted"
    again = _post(portal_client, "/me/contact/object/withdraw", "/me/contact")
    assert again.status_code == 302
    assert "no objection to lift" in portal_client.get("/me/contact").get_data(as_text=True)


def test_lifting_an_objection_needs_the_form_token(portal_client, ann):
    assert portal_client.post("/me/contact/object/withdraw").status_code == 400


def test_without_an_sms_gateway_text_messages_are_not_offered(portal_client, ann):
    page = portal_client.get("/me/contact").get_data(as_text=True)
    assert "/me/contact/give/offers/sms" not in page
    assert "we cannot send text messages yet" in page
    response = portal_client.get("/me/contact/give/offers/sms")
    assert response.status_code == 302
    assert "cannot send text messages" in portal_client.get("/me/contact").get_data(as_text=True)
    notice = current_notice(db.session, "offers", "en")
    path = "/me/contact/give/offers/sms"
    posted = _post(portal_client, path, "/me/contact", version="0", notice_id=str(notice.id))
    assert posted.status_code == 409
    assert "follow the link" not in posted.get_data(as_text=True).lower()
    assert db.session.get(ConsentState, (ann.id, "offers", "sms")) is None
    signup = portal_client.get("/signup").get_data(as_text=True)
    assert 'value="offers:sms"' not in signup and 'value="offers:email"' in signup


def test_an_unsent_text_message_is_reported_truthfully(portal_app, portal_client, ann):
    change_settings(portal_app, sms_webhook_url="http://127.0.0.1:9/sms")  # nobody listens
    path = "/me/contact/give/offers/sms"
    page = portal_client.get(path).get_data(as_text=True)
    version = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    notice = current_notice(db.session, "offers", "en")
    posted = _post(portal_client, path, path, version=version, notice_id=str(notice.id))
    assert posted.status_code == 302
    shown = portal_client.get("/me/contact").get_data(as_text=True)
    assert "we could not send the link just now" in shown
    assert "follow the link in the text message" not in shown
    assert db.session.get(ConsentState, (ann.id, "offers", "sms")).status == "pending"


def _form_version(client, page: str, action: str) -> str:
    html = client.get(page).get_data(as_text=True)
    form = html.split(f'action="{action}"')[1]
    return form.split('name="version" type="hidden" value="')[1].split('"')[0]


def test_a_conflict_keeps_what_was_typed_in_my_information(portal_client, ann):
    stale = _form_version(portal_client, "/me/data", "/me/data/profile")
    first = {"version": stale, "email": "ann@example.com", "first_name": "Anna"}
    assert _post(portal_client, "/me/data/profile", "/me/data", **first).status_code == 302
    typed = {**first, "first_name": "Annabel", "city": "Genoa"}
    response = _post(portal_client, "/me/data/profile", "/me/data", **typed)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'value="Annabel"' in page and 'value="Genoa"' in page
    assert "What you entered is kept below" in page
    fresh = page.split('action="/me/data/profile"')[1]
    version = fresh.split('name="version" type="hidden" value="')[1].split('"')[0]
    again = _post(portal_client, "/me/data/profile", "/me/data", **{**typed, "version": version})
    assert again.status_code == 302  # saving again applies what was kept
    assert portal_client.get("/me/data").get_data(as_text=True).count('value="Annabel"') == 1


def test_a_conflict_keeps_the_sharing_ticks_settings_and_limits(portal_client, ann):
    stale = _form_version(portal_client, "/me/data", "/me/data/sharing")
    assert _post(portal_client, "/me/data/sharing", "/me/data", version=stale).status_code == 302
    ticked = ["first_name:offers"]
    response = _post(portal_client, "/me/data/sharing", "/me/data", version=stale, share=ticked)
    assert response.status_code == 409
    assert 'id="s-first_name-offers" name="share" value="first_name:offers" checked' in (
        response.get_data(as_text=True)
    )

    old = _form_version(portal_client, "/me/data", "/me/data/settings")
    changed = {"version": old, "language": "en", "timezone": "Asia/Tokyo"}
    assert _post(portal_client, "/me/data/settings", "/me/data", **changed).status_code == 302
    typed = {"version": old, "language": "it", "timezone": "America/New_York"}
    response = _post(portal_client, "/me/data/settings", "/me/data", **typed)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'selected value="America/New_York"' in page and 'selected value="it"' in page

    limits = {"version": "0", "w0-day": ["1"], "w0-start": "09:00", "w0-end": "12:00"}
    limits["preferred_channel"] = ""
    assert _post(portal_client, "/me/contact/limits", "/me/contact", **limits).status_code == 302
    typed = {**limits, "w0-day": ["4"], "w0-start": "17:30", "w0-end": "19:00", "weekly_cap": "1"}
    response = _post(portal_client, "/me/contact/limits", "/me/contact", **typed)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'value="17:30"' in page and 'value="19:00"' in page and 'value="1"' in page
    assert 'name="w0-day" value="4" checked' in page
    assert 'name="version" type="hidden" value="1"' in page


def test_the_time_zone_picker_lists_places_by_region_with_mine_first(portal_client, ann):
    page = portal_client.get("/me/data").get_data(as_text=True)
    picker = page.split('name="timezone"')[1].split("</select>")[0]
    assert picker.split("<option", 2)[1].startswith(' selected value="Europe/Rome">Rome (UTC')
    assert '<optgroup label="Europe">' in picker and '<optgroup label="Americas">' in picker
    assert 'value="America/Argentina/Buenos_Aires">Buenos Aires (UTC' in picker
    for alias in ("US/Eastern", "Factory", "localtime", "posixrules", "Asia/Calcutta", "GB"):
        assert f'value="{alias}"' not in picker
    assert picker.count('value="Europe/Rome"') == 1


def test_languages_are_offered_by_name(portal_client, ann):
    page = portal_client.get("/me/data").get_data(as_text=True)
    assert '<option lang="de" value="de">Deutsch (German)</option>' in page
    assert '<option lang="en" selected value="en">English</option>' in page


def test_the_unsubscribe_page_names_the_purpose_in_plain_words(portal_client, ann):
    from app.delivery.tokens import unsubscribe_token

    page = portal_client.get(f"/u/{unsubscribe_token(ann.ref, 'birthday', 'email')}")
    text = page.get_data(as_text=True)
    assert 'Do you want to stop receiving "Birthday offers" by e-mail?' in text.replace(
        "&#34;", '"'
    )
    assert "birthday messages by email" not in text


def test_the_portal_says_plainly_when_messages_are_paused(portal_client, ann):
    limits = {"version": "0", "paused_until": "2999-01-31", "preferred_channel": ""}
    assert _post(portal_client, "/me/contact/limits", "/me/contact", **limits).status_code == 302
    for path in ("/me/", "/me/contact"):
        page = portal_client.get(path).get_data(as_text=True)
        assert "Messages are paused: we send you no marketing messages before 2999-01-31" in page


def test_history_explains_in_a_sentence_why_a_message_was_sent(portal_client, ann):
    from app.outbox.models import SendLog
    from app.transaction import transaction

    with transaction(db.session):
        db.session.add(SendLog(customer_id=ann.id, channel="email", purpose="offers"))
    page = portal_client.get("/me/history").get_data(as_text=True)
    assert "Sent because you agreed to it on" in page
    assert "Rule <code>" not in page


def test_the_export_shows_the_customer_their_own_evidence_readable(portal_client, ann):
    import json

    _post(portal_client, "/me/contact/withdraw/offers/email", "/me/contact")
    document = json.loads(portal_client.get("/me/account/export").data)
    (seen,) = document["consent_evidence"]
    withdrawal = next(e for e in document["consent_events"] if e["action"] == "withdrawn")
    assert seen["record_id"] == withdrawal["record_id"]
    assert seen["ip_address"] == "127.0.0.1"
    assert seen["user_agent"].startswith("Werkzeug/")


def test_history_shows_sharing_and_contact_limit_changes(portal_client, ann):
    version = _form_version(portal_client, "/me/data", "/me/data/sharing")
    shares = ["first_name:offers", "city:offers"]
    _post(portal_client, "/me/data/sharing", "/me/data", version=version, share=shares)
    version = _form_version(portal_client, "/me/data", "/me/data/sharing")
    _post(portal_client, "/me/data/sharing", "/me/data", version=version, share=["city:offers"])
    limits = {
        "version": "0",
        "w0-day": ["0"],
        "w0-start": "18:00",
        "w0-end": "20:00",
        "weekly_cap": "2",
        "paused_until": "2999-01-31",
        "preferred_channel": "email",
    }
    assert _post(portal_client, "/me/contact/limits", "/me/contact", **limits).status_code == 302
    page = portal_client.get("/me/history").get_data(as_text=True)
    section = page.split('id="changes-title"')[1].split("</section>")[0]
    assert "No longer shared: First name, for Offers newsletter" in section
    assert "Shared: City, for Offers newsletter" in section
    assert "Shared: First name, for Offers newsletter" in section
    assert (
        "1 contact window; at most 2 messages a week; paused until 2999-01-31; "
        "preferred channel: E-mail." in " ".join(section.split())
    )
    newest = section.index("Contact limits saved")
    assert newest < section.index("No longer shared") < section.index("Shared: First name")


def test_sign_up_with_a_taken_address_answers_alike_and_tells_the_owner_in_their_language(
    portal_app, create_customer, mailbox
):
    from tests.conftest import TEST_PASSWORD
    from tests.web.test_portal_support import wait_for_mail

    create_customer("lucia@example.com", language="it")
    answers = []
    for email in ("lucia@example.com", "new@example.com"):
        visitor = portal_app.test_client()
        data = {
            "email": email,
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
            "language": "en",
            "timezone": "Europe/Rome",
            "age_confirmed": "y",
        }
        response = _post(visitor, "/signup", "/signup", **data)
        page = visitor.get(response.headers["Location"]).get_data(as_text=True)
        answers.append((response.status_code, page.split('<div class="flashes"')[1][:300]))
    assert answers[0] == answers[1]
    assert "An account with this e-mail address already exists" not in answers[0][1]
    messages = {m.summary.recipient: m for m in wait_for_mail(mailbox[0], 2)}
    assert "Qualcuno ha provato a creare un account Assenso" in messages["lucia@example.com"].text


def test_a_receipt_shows_the_evidence_recorded_with_the_choice(portal_client, ann):
    _post(portal_client, "/me/contact/withdraw/offers/email", "/me/contact")
    withdrawal = db.session.scalar(select(ConsentEvent).where(ConsentEvent.action == "withdrawn"))
    page = portal_client.get(f"/me/receipts/{withdrawal.record_id}").get_data(as_text=True)
    assert "Recorded from the address 127.0.0.1, with the browser: Werkzeug/" in page
    granted = db.session.scalar(select(ConsentEvent).where(ConsentEvent.action == "granted"))
    page = portal_client.get(f"/me/receipts/{granted.record_id}").get_data(as_text=True)
    assert "Recorded from the address" not in page  # recorded without evidence


def test_the_time_zone_picker_names_places_in_the_customers_language(portal_client, ann):
    with portal_client.session_transaction() as session:
        session["lang"] = "it"
    page = portal_client.get("/me/data").get_data(as_text=True)
    picker = page.split('name="timezone"')[1].split("</select>")[0]
    assert picker.split("<option", 2)[1].startswith(' selected value="Europe/Rome">Roma (UTC')
    assert '<optgroup label="Europa">' in picker and '<optgroup label="Americhe">' in picker
