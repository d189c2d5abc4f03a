"""The data-subject request workflow: acknowledgement and answer e-mails to the person,
identity verification of requests entered by staff, the export delivered to the person by a
signed, expiring link, and deadline reminders sent by a scheduled job from database rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from app.campaigns.scheduler import PERIODIC_JOBS
from app.compliance import request_queries as queries
from app.compliance import requests as dsr
from app.compliance.models import DataSubjectRequest, RequestReminder
from app.compliance.request_reminders import send_due_reminders
from app.vault.models import VaultAccess
from tests.helpers import csrf_token
from tests.integration.builders import make_customer
from tests.integration.test_delivery_helpers import Sink

OFFICER_EMAIL = "officer@staff.example.com"
BASE = "https://shop.example"


@pytest.fixture
def sink():
    """A local SMTP relay recording every message."""
    with Sink() as relay:
        yield relay


@pytest.fixture
def app(app_factory, sink):
    """The application, its mail going to ``sink``."""
    application = app_factory(SMTP_PORT=sink.port, PUBLIC_BASE_URL=BASE)
    with application.app_context():
        yield application


@pytest.fixture
def officer(client, create_staff, login):
    """The test client signed in as a compliance officer."""
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    return client


def _mails(sink, to: str) -> list:
    found = []
    for raw in sink.messages:
        message = message_from_bytes(raw, policy=policy.default)
        if message["To"] == to:
            found.append(message)
    return found


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def _link(text: str, path: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith(BASE + path))
    return line.removeprefix(BASE)


def _act(client, row, action, **data):
    path = f"/compliance/requests/{row.id}"
    return client.post(f"{path}/{action}", data={"csrf_token": csrf_token(client, path), **data})


def _staff_request(officer, session, email, kind="access", **kw):
    customer = make_customer(session, email=email, **kw)
    path = "/compliance/requests/new"
    response = officer.post(path, data={"csrf_token": csrf_token(officer, path), "email": email,
                                        "kind": kind, "details": "Sent by letter"})  # fmt: skip
    assert response.status_code == 303
    row = session.scalar(
        select(DataSubjectRequest).where(DataSubjectRequest.customer_id == customer.id)
    )
    return customer, row


def test_staff_request_is_acknowledged_confirmed_and_the_export_reaches_the_person(
    officer, client, session, sink, app
):
    customer, row = _staff_request(officer, session, "letter.writer@example.org")
    assert row.identity_status == "pending"
    (ack,) = _mails(sink, "letter.writer@example.org")
    text = _body(ack)
    assert ack["Subject"] == "We received your request" and f"#{row.id}" in text
    assert f"answer by {row.due_at:%Y-%m-%d}" in text
    confirm = _link(text, "/my-request/confirm/")

    # Nothing is disclosed while the identity is pending.
    refused = _act(officer, row, "export")
    assert refused.status_code == 409 and "not verified yet" in refused.get_data(as_text=True)

    # The person confirms with the link (the GET changes nothing; the button does).
    anonymous = app.test_client()
    page = anonymous.get(confirm)
    assert page.status_code == 200 and "Yes, this request is mine" in page.get_data(as_text=True)
    session.refresh(row)
    assert row.identity_status == "pending"
    done = anonymous.post(confirm, data={"csrf_token": csrf_token(anonymous, confirm)})
    assert done.status_code == 200 and "is confirmed" in done.get_data(as_text=True)
    session.refresh(row)
    assert row.identity_status == "verified" and "link" in row.identity_method

    # Fulfilling e-mails a download link to the person; the officer gets no file.
    sent = _act(officer, row, "export")
    assert sent.status_code == 303 and sent.mimetype != "application/json"
    session.refresh(row)
    assert row.status == "fulfilled"
    answer = _mails(sink, "letter.writer@example.org")[-1]
    assert answer["Subject"] == "Our answer to your request"
    download = _link(_body(answer), "/my-request/export/")
    looks_before = _looks(session, customer.ref)
    landing = anonymous.get(download)
    assert landing.status_code == 200 and _looks(session, customer.ref) == looks_before
    got = anonymous.post(download, data={"csrf_token": csrf_token(anonymous, download)})
    assert got.status_code == 200 and got.mimetype == "application/json"
    assert got.get_json()["customer"]["id"] == customer.ref
    assert "attachment" in got.headers["Content-Disposition"]
    assert _looks(session, customer.ref) == looks_before + 1

    # A new link revokes the old one.
    assert _act(officer, row, "resend").status_code == 303
    old = anonymous.post(download, data={"csrf_token": csrf_token(anonymous, confirm)})
    assert old.status_code == 400 and "replaced" in old.get_data(as_text=True)
    history = officer.get(f"/compliance/requests/{row.id}?format=json").get_json()["rows"]
    actions = [h["action"] for h in history]
    assert actions.count("e-mailed") == 3 and "identity_verified" in actions


def _looks(session, ref) -> int:
    return session.scalar(
        select(func.count()).select_from(VaultAccess).where(VaultAccess.customer_ref == ref)
    )


def test_links_expire_and_forged_links_are_refused(officer, session, sink, app, monkeypatch):
    _customer, row = _staff_request(officer, session, "late.reader@example.org")
    confirm = _link(_body(_mails(sink, "late.reader@example.org")[0]), "/my-request/")
    anonymous = app.test_client()
    later = time.time() + 8 * 86_400
    monkeypatch.setattr("app.signed_links.time.time", lambda: later)
    expired = anonymous.get(confirm)
    monkeypatch.undo()
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    assert anonymous.get(confirm[:-3] + "abc").status_code == 400
    assert anonymous.get("/my-request/export/not-a-token").status_code == 400
    session.refresh(row)
    assert row.identity_status == "pending"


def test_officer_records_how_identity_was_checked(officer, session):
    _customer, row = _staff_request(officer, session, "counter.visit@example.org", "objection")
    assert _act(officer, row, "verify", method="seen").status_code == 400
    assert _act(officer, row, "verify", method="ID card seen at the counter").status_code == 303
    assert _act(officer, row, "verify", method="ID card seen at the counter").status_code == 409
    assert _act(officer, row, "object").status_code == 303
    session.refresh(row)
    assert row.status == "fulfilled" and row.identity_method == "ID card seen at the counter"


def test_the_answer_goes_in_the_customers_language_and_survives_erasure(officer, session, sink):
    customer, row = _staff_request(
        officer, session, "cancellami@example.it", "erasure", language="it"
    )
    (ack,) = _mails(sink, "cancellami@example.it")
    assert ack["Subject"] == "Abbiamo ricevuto la tua richiesta"
    assert (
        _act(officer, row, "verify", method="Called back on the number on file").status_code == 303
    )
    assert _act(officer, row, "erase", confirm=customer.ref).status_code == 303
    answer = _mails(sink, "cancellami@example.it")[-1]
    assert answer["Subject"] == "La nostra risposta alla tua richiesta"
    assert "cancellati" in _body(answer)


def test_a_refusal_is_answered_with_its_reason(officer, session, sink):
    _customer, row = _staff_request(officer, session, "repeat.asker@example.org")
    reason = "Manifestly unfounded: the same request every week"
    assert _act(officer, row, "refuse", reason=reason).status_code == 303
    answer = _mails(sink, "repeat.asker@example.org")[-1]
    assert reason in _body(answer) and "data protection authority" in _body(answer)


def test_portal_requests_are_verified_and_acknowledged(client, session, sink, login):
    from app.accounts.passwords import hash_password
    from tests.conftest import TEST_PASSWORD

    make_customer(session, email="portal.asker@example.org",
                  password_hash=hash_password(TEST_PASSWORD))  # fmt: skip
    login("portal.asker@example.org", staff=False)
    client.post("/me/requests", data={"csrf_token": csrf_token(client, "/me/requests"),
                                      "kind": "export"})  # fmt: skip
    row = session.scalar(select(DataSubjectRequest))
    assert row.identity_status == "verified" and row.identity_method == "signed in to the portal"
    (ack,) = _mails(sink, "portal.asker@example.org")
    assert "/my-request/confirm/" not in _body(ack)


def test_deadline_reminders_are_rows_sent_once_by_the_scheduled_job(
    officer, session, sink, create_staff
):
    assert "compliance:request-reminders" in PERIODIC_JOBS
    create_staff("compliance_officer", "second.officer@staff.example.com")
    customer = make_customer(session, email="slow.case@example.org")
    received = datetime.now(UTC) - timedelta(days=25)
    row = dsr.file_request(session, customer, "access", channel="staff", actor="staff:test",
                           received_at=received)  # fmt: skip
    kinds = set(session.scalars(select(RequestReminder.kind)))
    assert kinds == {"week_before", "day_before", "overdue"}
    assert send_due_reminders(session, datetime.now(UTC)) == 1  # a week before: due now
    reminders = [m for m in sink.messages if b"is due in" in m]
    assert len(reminders) == 2  # both officers (no one is assigned)
    assert send_due_reminders(session, datetime.now(UTC)) == 0  # never twice
    dsr.extend(session, row, "Covers ten years of records", actor="staff:test")
    due = {r.kind: r.remind_at for r in session.scalars(select(RequestReminder))}
    assert due["overdue"] == row.due_at and due["week_before"] == row.due_at - timedelta(days=7)
    assert send_due_reminders(session, row.due_at + timedelta(minutes=1)) == 3
    dsr.refuse(session, row, "Covered by an earlier answer", actor="staff:test")
    assert session.scalar(select(func.count()).select_from(RequestReminder).where(
        RequestReminder.sent_at.is_(None))) == 0  # fmt: skip
    history = [h.action for h in queries.history(session, row)]
    assert history.count("reminded") == 4
