# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""The signed-in portal: my data, sharing, contact choices and limits, history, export, erasure."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.customers.models import Customer
from app.extensions import db
from app.ledger.consent import grant
from app.ledger.models import ConsentEvent, ConsentState, Notice
from app.ledger.notices import current_notice
from app.vault.models import ContactPreferences, SharingChoice
from app.vault.service import read_own_profile
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
    portal_client,
    sign_in_customer,
)


@pytest.fixture
def ann(create_customer, portal_client) -> Customer:
    """A signed-in customer with a first name and an e-mail consent for offers."""
    customer = create_customer("ann@example.com", first_name="Ann", city="Turin")
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
    sign_in_customer(portal_client, "ann@example.com")
    return customer


def _post(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def _version(client, page: str, action: str) -> str:
    html = client.get(page).get_data(as_text=True)
    form = html.split(f'action="{action}"')[1]
    return form.split('name="version" type="hidden" value="')[1].split('"')[0]


def test_every_portal_page_renders_for_the_customer(portal_client, ann):
    for path in ("/me/", "/me/data", "/me/contact", "/me/history", "/me/account"):
        response = portal_client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"


def test_my_data_shows_decrypted_fields_and_rectifies_with_history(portal_client, ann):
    assert 'value="Ann"' in portal_client.get("/me/data").get_data(as_text=True)
    version = _version(portal_client, "/me/data", "/me/data/profile")
    data = {"version": version, "email": "ann@example.com", "first_name": "Anna", "city": "Turin"}
    response = _post(portal_client, "/me/data/profile", "/me/data", **data)
    assert response.status_code == 302
    assert read_own_profile(db.session, ann)["first_name"] == "Anna"
    page = portal_client.get("/me/data").get_data(as_text=True)
    assert 'value="Anna"' in page and ">Ann<" in page  # previous value in the history


def test_my_data_refuses_a_stale_form_and_invalid_values(portal_client, ann):
    stale = _version(portal_client, "/me/data", "/me/data/profile")
    fresh = {"version": stale, "email": "ann@example.com", "first_name": "Anna", "city": "Turin"}
    assert _post(portal_client, "/me/data/profile", "/me/data", **fresh).status_code == 302
    other_tab = {**fresh, "first_name": "Annie"}
    response = _post(portal_client, "/me/data/profile", "/me/data", **other_tab)
    assert response.status_code == 409
    assert "changed in another window" in response.get_data(as_text=True)
    assert read_own_profile(db.session, ann)["first_name"] == "Anna"
    version = _version(portal_client, "/me/data", "/me/data/profile")
    bad = {**fresh, "version": version, "birthday": "2999-01-01", "email": ""}
    response = _post(portal_client, "/me/data/profile", "/me/data", **bad)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_sharing_toggles_are_saved_and_stale_forms_refused(portal_client, ann):
    version = _version(portal_client, "/me/data", "/me/data/sharing")
    shares = ["first_name:offers", "city:offers"]
    response = _post(portal_client, "/me/data/sharing", "/me/data", version=version, share=shares)
    assert response.status_code == 302
    rows = db.session.scalars(select(SharingChoice).where(SharingChoice.shared.is_(True)))
    assert {(r.field, r.purpose) for r in rows} == {("first_name", "offers"), ("city", "offers")}
    stale = _post(portal_client, "/me/data/sharing", "/me/data", version=version, share=[])
    assert stale.status_code == 409
    assert db.session.get(SharingChoice, (ann.id, "city", "offers")).shared


def test_giving_consent_shows_the_notice_then_records_it(portal_client, ann):
    page = portal_client.get("/me/contact/give/birthday/email").get_data(as_text=True)
    notice = current_notice(db.session, "birthday", "en")
    assert notice.title in page
    version = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    path = "/me/contact/give/birthday/email"
    response = _post(portal_client, path, path, version=version, notice_id=str(notice.id))
    assert response.status_code == 302
    state = db.session.get(ConsentState, (ann.id, "birthday", "email"))
    assert state.status == "pending"  # e-mail: double opt-in
    assert "Waiting for confirmation" in portal_client.get("/me/contact").get_data(as_text=True)
    again = _post(portal_client, path, "/me/contact", version=version, notice_id=str(notice.id))
    assert again.status_code == 409  # the page was stale


def test_sms_consent_needs_a_phone_and_unknown_choices_are_404(portal_client, ann):
    path = "/me/contact/give/offers/sms"
    notice = db.session.scalar(select(Notice.id).where(Notice.purpose == "offers"))
    response = _post(portal_client, path, path, version="0", notice_id=str(notice))
    assert response.status_code == 400
    assert portal_client.get("/me/contact/give/nothing/email").status_code == 404
    assert portal_client.get("/me/contact/give/service/email").status_code == 404


def test_withdrawal_is_one_action_and_objection_stops_everything(portal_client, ann):
    response = _post(portal_client, "/me/contact/withdraw/offers/email", "/me/contact")
    assert response.status_code == 302
    assert db.session.get(ConsentState, (ann.id, "offers", "email")).status == "withdrawn"
    assert _post(portal_client, "/me/contact/object", "/me/contact").status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, ann.id).objected_at is not None
    assert "Objection recorded" in portal_client.get("/me/contact").get_data(as_text=True)


def test_contact_limits_round_trip_and_refuse_stale_versions(portal_client, ann):
    limits = {
        "version": "0",
        "w0-day": ["0", "2"],
        "w0-start": "18:00",
        "w0-end": "20:30",
        "weekly_cap": "2",
        "paused_until": "2999-01-31",
        "preferred_channel": "email",
    }
    response = _post(portal_client, "/me/contact/limits", "/me/contact", **limits)
    assert response.status_code == 302
    row = db.session.get(ContactPreferences, ann.id)
    assert json.loads(row.windows_json) == [{"days": [0, 2], "start": "18:00", "end": "20:30"}]
    assert (row.weekly_cap, row.preferred_channel, row.version) == (2, "email", 1)
    page = portal_client.get("/me/contact").get_data(as_text=True)
    assert 'value="2999-01-31"' in page and 'value="20:30"' in page
    stale = _post(portal_client, "/me/contact/limits", "/me/contact", **limits)
    assert stale.status_code == 409
    bad = {**limits, "version": "1", "w0-end": "18:00"}
    assert _post(portal_client, "/me/contact/limits", "/me/contact", **bad).status_code == 400


def test_history_lists_events_with_receipts_and_refuses_others(
    portal_client, portal_app, ann, create_customer
):
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.customer_ref == ann.ref))
    page = portal_client.get("/me/history").get_data(as_text=True)
    assert f"/me/receipts/{event.record_id}" in page
    html = portal_client.get(f"/me/receipts/{event.record_id}")
    assert html.status_code == 200 and "receipt_verify" in html.get_data(as_text=True)
    download = portal_client.get(f"/me/receipts/{event.record_id}/download")
    assert download.status_code == 200
    assert json.loads(download.data)["receipt_format"] == "assenso-consent-receipt/1"
    create_customer("bob@example.com")
    bob = portal_app.test_client()
    sign_in_customer(bob, "bob@example.com")
    assert bob.get(f"/me/receipts/{event.record_id}").status_code == 404
    assert bob.get(f"/me/receipts/{event.record_id}/download").status_code == 404


def test_export_downloads_everything_held(portal_client, ann):
    response = portal_client.get("/me/account/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.data)
    assert document["format"] == "assenso-export/1"
    assert document["profile"]["first_name"] == "Ann"


def test_erasure_needs_the_password_then_signs_out_and_shreds(portal_client, ann):
    wrong = _post(portal_client, "/me/account/delete", "/me/account", password="not it at all")
    assert wrong.status_code == 400
    assert db.session.get(Customer, ann.id).erased_at is None
    done = _post(portal_client, "/me/account/delete", "/me/account", password=TEST_PASSWORD)
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, ann.id).erased_at is not None
    assert portal_client.get("/me/").status_code == 302  # signed out
    assert sign_in_customer(portal_client, "ann@example.com").status_code == 200


def test_staff_are_refused_from_the_portal(portal_app, create_staff, ann):
    staff = portal_app.test_client()
    user = create_staff("compliance_officer")
    from tests.helpers import sign_in

    sign_in(staff, user.email, TEST_PASSWORD)
    for path in ("/me/", "/me/data", "/me/contact", "/me/history", "/me/account/export"):
        assert staff.get(path).status_code == 403, path


def test_refine_link_allows_only_reducing_contact(portal_app, ann):
    from app.delivery.tokens import unsubscribe_token

    token = unsubscribe_token(ann.ref, "offers", "email")
    visitor = portal_app.test_client()
    page = visitor.get(f"/me/refine/{token}")
    assert page.status_code == 200 and "Sign in to change everything else" in page.get_data(
        as_text=True
    )
    path = f"/me/refine/{token}/withdraw/offers/email"
    response = _post(visitor, path, f"/me/refine/{token}")
    assert response.status_code == 302
    assert db.session.get(ConsentState, (ann.id, "offers", "email")).status == "withdrawn"
    assert visitor.get("/me/refine/forged-token").status_code == 400
    assert visitor.get("/me/data").status_code == 302  # still not signed in


JUNK = ["x" * 100_000, "\x00\x01 binary", "<script>alert(1)</script>", "-1", ""]
FORMS = [
    "/me/data/profile",
    "/me/data/sharing",
    "/me/contact/give/offers/email",
    "/me/contact/withdraw/offers/email",
    "/me/contact/limits",
    "/me/account/delete",
]
NAMES = ["version", "email", "first_name", "birthday", "share", "notice_id", "w0-day"]
NAMES += ["w0-start", "w0-end", "weekly_cap", "paused_until", "preferred_channel", "password"]


def test_customer_forms_survive_junk(portal_client, ann):
    token = csrf_token(portal_client, "/me/data")
    for path in FORMS:
        for value in JUNK:
            data = {"csrf_token": token, **dict.fromkeys(NAMES, value)}
            assert portal_client.post(path, data=data).status_code < 500, (path, value[:10])
    assert db.session.get(Customer, ann.id).erased_at is None
