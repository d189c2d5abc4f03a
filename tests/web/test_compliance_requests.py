"""Data-subject requests: deadlines, filing from the portal and by staff, fulfilment, pages.

Also the policies page and the vault access log, with their exports, for the officer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.accounts.passwords import hash_password
from app.compliance import requests as dsr
from app.compliance.models import DataSubjectRequest
from app.errors import Conflict, InvalidInput
from app.ledger.models import ConsentEvent
from app.vault.models import CustomerKey, VaultAccess
from app.vault.service import open_cipher
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token
from tests.integration.builders import grant, make_customer

OFFICER_EMAIL = "officer@staff.example.com"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "extended", "due"),
    [
        ("2026-01-31T09:00", False, "2026-02-28T09:00"),
        ("2028-01-31T09:00", False, "2028-02-29T09:00"),  # leap year
        ("2026-03-15T10:30", False, "2026-04-15T10:30"),
        ("2026-12-31T23:00", False, "2027-01-31T23:00"),
        ("2026-11-30T08:00", True, "2027-02-28T08:00"),
        ("2026-01-31T09:00", True, "2026-04-30T09:00"),
    ],
)
def test_deadline_is_one_calendar_month_or_three_when_extended(received, extended, due):
    assert dsr.due_date(at(received), extended=extended) == at(due)


@pytest.fixture
def officer(client, create_staff, login):
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    return client


def _file(session, kind, **kw):
    customer = make_customer(session, email=f"{kind}.dsr@example.org")
    return customer, dsr.file_request(session, customer, kind, channel="staff",
                                      actor="staff:test", **kw)  # fmt: skip


def test_details_are_sealed_with_the_customers_key(session):
    customer, row = _file(session, "rectification", details="My surname is Quintavallo")
    assert b"Quintavallo" not in row.details
    assert dsr.read_details(session, row, actor="staff:test") == "My surname is Quintavallo"
    assert open_cipher(session, customer)  # key still there


def test_extension_once_with_reason_and_not_after_the_deadline(session):
    _customer, row = _file(session, "access")
    with pytest.raises(InvalidInput):
        dsr.extend(session, row, "too short", actor="staff:test")
    dsr.extend(session, row, "Request covers ten years of records", actor="staff:test")
    assert row.due_at == dsr.due_date(row.received_at, extended=True)
    with pytest.raises(Conflict):
        dsr.extend(session, row, "Request covers ten years of records", actor="staff:test")
    _c, late = _file(session, "export", received_at=datetime.now(UTC) - timedelta(days=40))
    assert dsr.is_overdue(late)
    with pytest.raises(Conflict):
        dsr.extend(session, late, "Asked far too late to extend", actor="staff:test")


def test_bad_input_is_refused_without_recording(session):
    customer = make_customer(session, email="bad.dsr@example.org")
    future = datetime.now(UTC) + timedelta(days=3)
    for kind, kw in (("forget", {}), ("access", {"details": "x" * 3000}),
                     ("access", {"received_at": future})):  # fmt: skip
        with pytest.raises(InvalidInput):
            dsr.file_request(session, customer, kind, channel="staff", actor="t", **kw)
    assert session.scalar(select(DataSubjectRequest.id)) is None


def test_overdue_requests_come_first_and_stand_out(officer, session):
    _c, late = _file(session, "access", received_at=datetime.now(UTC) - timedelta(days=45))
    _c, fresh = _file(session, "objection")
    page = officer.get("/compliance/requests").get_data(as_text=True)
    assert page.index(f">{late.id}</a>") < page.index(f">{fresh.id}</a>")
    assert "OVERDUE" in page and 'class="overdue"' in page and "1 overdue" in page
    only = officer.get("/compliance/requests?overdue=1&format=json").get_json()
    assert [r["id"] for r in only["rows"]] == [late.id]
    csv = officer.get("/compliance/requests?status=all&format=csv").get_data(as_text=True)
    assert csv.splitlines()[0].startswith("Request,Kind,Status") and len(csv.splitlines()) == 3
    assert officer.get("/compliance/requests?status=lost").status_code == 400
    assert officer.get("/compliance/requests?kind=forget&format=csv").status_code == 400


def test_staff_records_a_request_and_errors_keep_what_was_typed(officer, session):
    customer = make_customer(session, email="walkin.dsr@example.org")
    path = "/compliance/requests/new"
    bad = officer.post(path, data={"csrf_token": csrf_token(officer, path),
                                   "email": "walkin.dsr@example.org", "kind": "",
                                   "details": "Wants a copy"})  # fmt: skip
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Choose the kind" in body and "Wants a copy" in body
    good = officer.post(path, data={"csrf_token": csrf_token(officer, path),
                                    "email": "walkin.dsr@example.org", "kind": "access",
                                    "received": "2026-11-01",
                                    "details": "Wants a copy"})  # fmt: skip
    assert good.status_code == 303
    row = session.scalar(
        select(DataSubjectRequest).where(DataSubjectRequest.customer_id == customer.id)
    )
    assert row.channel == "staff" and row.due_at.date().isoformat() == "2026-12-01"


def _act(client, row, action, **data):
    path = f"/compliance/requests/{row.id}"
    return client.post(f"{path}/{action}", data={"csrf_token": csrf_token(client, path), **data})


def test_access_request_is_answered_with_the_export(officer, session):
    customer, row = _file(session, "access")
    response = _act(officer, row, "export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["customer"]["id"] == customer.ref
    session.refresh(row)
    assert row.status == "fulfilled" and row.closed_at is not None
    logged = session.scalars(select(VaultAccess).where(VaultAccess.customer_ref == customer.ref))
    assert any("request #" in (entry.reason or "") for entry in logged)
    again = _act(officer, row, "export")
    assert again.status_code == 409 and "already fulfilled" in again.get_data(as_text=True)


def test_rectification_goes_through_the_vault(officer, session):
    customer, row = _file(session, "rectification")
    response = _act(officer, row, "rectify", field="city", value="Brescia")
    assert response.status_code == 303
    from app.vault.service import read_own_profile

    assert read_own_profile(session, customer)["city"] == "Brescia"
    wrong = _act(officer, row, "rectify", field="postcode", value="not a postcode!!!")
    assert wrong.status_code == 400 and "not a postcode!!!" in wrong.get_data(as_text=True)
    assert _act(officer, row, "complete", outcome="city corrected").status_code == 303
    session.refresh(row)
    assert row.status == "fulfilled"


def test_erasure_needs_the_reference_and_really_shreds(officer, session):
    customer, row = _file(session, "erasure", details="Please forget me")
    refused = _act(officer, row, "erase", confirm="wrong")
    assert refused.status_code == 400
    assert session.get(CustomerKey, customer.id) is not None
    assert _act(officer, row, "erase", confirm=customer.ref).status_code == 303
    session.expire_all()
    assert session.get(CustomerKey, customer.id) is None
    row = session.get(DataSubjectRequest, row.id)
    assert row.status == "fulfilled" and row.details is None


def test_objection_is_a_ledger_event(officer, session):
    customer, row = _file(session, "objection")
    grant(session, customer, "offers", "email")
    assert _act(officer, row, "object").status_code == 303
    last = session.scalar(select(ConsentEvent).order_by(ConsentEvent.seq.desc()).limit(1))
    assert last.customer_ref == customer.ref and last.action == "objected"
    assert last.source == "staff" and f"request #{row.id}" in last.reason


def test_assign_refuse_and_the_history(officer, session, create_staff):
    helper = create_staff("compliance_officer", "second@staff.example.com")
    _customer, row = _file(session, "access")
    assert _act(officer, row, "assign", assignee=str(helper.id)).status_code == 303
    assert _act(officer, row, "refuse", reason="short").status_code == 400
    assert _act(officer, row, "refuse", reason="Manifestly unfounded: repeated").status_code == 303
    page = officer.get(f"/compliance/requests/{row.id}").get_data(as_text=True)
    for step in ("received", "assigned", "refused"):
        assert f"<td>{step}</td>" in page
    assert "second@staff.example.com" in page


def test_portal_customer_files_a_request_and_sees_its_deadline(client, session, login):
    make_customer(session, email="portal.dsr@example.org",
                  password_hash=hash_password(TEST_PASSWORD))  # fmt: skip
    login("portal.dsr@example.org", staff=False)
    assert client.post("/me/requests", data={"csrf_token": csrf_token(client, "/me/requests"),
                                             "kind": "nonsense"}).status_code == 400  # fmt: skip
    response = client.post("/me/requests", data={"csrf_token": csrf_token(client, "/me/requests"),
                                                 "kind": "access", "details": "All of it"},
                           follow_redirects=True)  # fmt: skip
    assert "We answer by" in response.get_data(as_text=True)
    row = session.scalar(select(DataSubjectRequest))
    assert row.channel == "portal" and row.kind == "access" and b"All of it" not in row.details
    client.get("/me/account/export")
    kinds = session.scalars(select(DataSubjectRequest.kind).order_by(DataSubjectRequest.id)).all()
    assert kinds == ["access", "export"]


def test_policies_page_lists_hashes_and_history(officer, app):
    from app.policy_sets.in_force import policies_in_force

    page = officer.get("/compliance/policies").get_data(as_text=True)
    for policy in policies_in_force().policies:
        assert policy.sha256 in page
    assert "Set revision 1, loaded" in page and "by <strong>system</strong>" in page
    active = officer.get("/compliance/policies?format=json").get_json()
    assert active["table"] == "active-policies" and len(active["rows"]) >= 1
    history = officer.get("/compliance/policies?table=history&format=csv")
    assert history.status_code == 200 and history.get_data(as_text=True).startswith("Revision,")
    loads = officer.get("/compliance/policies?table=loads&format=json").get_json()
    assert [(row["id"], row["actor"], row["in_force"]) for row in loads["rows"]] == [
        (1, "system", True)
    ]


def test_policies_page_says_which_purposes_campaigns_may_use(officer):
    purposes = officer.get("/compliance/policies?table=purposes&format=json").get_json()["rows"]
    eu = {row["purpose"]: row for row in purposes if row["policy_id"] == "eu-gdpr"}
    assert eu["service"]["direct_marketing"] is False and eu["service"]["campaigns"] == "refused"
    assert eu["service"]["transactional"] is True and eu["service"]["lawful_basis"] == "contract"
    assert eu["surveys"]["direct_marketing"] is True and eu["surveys"]["campaigns"] == "allowed"
    page = officer.get("/compliance/policies").get_data(as_text=True)
    assert "Purposes of the policies in force" in page and "refused" in page


def test_policy_revision_shows_a_marked_diff(officer, session):
    from app.policy_sets.models import PolicyRevision
    from app.transaction import transaction

    with transaction(session):
        row = PolicyRevision(policy_id="eu-gdpr", filename="eu-gdpr.yaml", sha256="b" * 64,
                             previous_sha256="a" * 64, source_text="x: 2\n",
                             diff="--- a\n+++ b\n@@ -1 +1 @@\n-x: 1\n+x: 2\n",
                             actor="cli", reason="raise x")  # fmt: skip
        session.add(row)
    page = officer.get(f"/compliance/policies/revisions/{row.id}").get_data(as_text=True)
    assert '<span class="add"><span class="visually-hidden">added: </span>+x: 2</span>' in page
    assert '<span class="del"><span class="visually-hidden">removed: </span>-x: 1</span>' in page


def test_access_log_filters_pages_and_exports(officer, session):
    from app.transaction import transaction
    from app.vault.service import log_access

    anna = make_customer(session, email="anna.log@example.org")
    with transaction(session):
        for n in range(60):
            log_access(session, actor="staff:someone@example.com", purpose="support",
                       fields=("city",), customer_count=1, customer_ref=anna.ref,
                       reason=f"ticket {n}")  # fmt: skip
        log_access(session, actor="campaign:7", purpose="offers", fields=("first_name",),
                   customer_count=1200)  # fmt: skip
    first = officer.get("/compliance/access-log?email=anna.log@example.org")
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and "ticket 59" in body and "ticket 5<" not in body
    assert "Older entries" in body
    runs = officer.get("/compliance/access-log?actor=campaign&format=json").get_json()
    assert [r["customer_count"] for r in runs["rows"]] == [1200]
    everything = officer.get("/compliance/access-log?purpose=support&format=csv")
    assert len(everything.get_data(as_text=True).strip().splitlines()) == 61
    assert officer.get("/compliance/access-log?since=yesterday").status_code == 400


def test_dashboards_draw_every_panel_with_its_table_and_export(officer, session):
    from app.ledger import consent
    from app.outbox.models import OutboxEntry
    from app.transaction import transaction

    people = [make_customer(session, email=f"dash{n}@example.org") for n in range(4)]
    for person in people:
        grant(session, person, "offers", "email")
    consent.withdraw(session, people[0], purpose="offers", channel="email", source="portal",
                     method="web_form", actor="customer")  # fmt: skip
    with transaction(session):
        session.add(OutboxEntry(idempotency_key="dash-1", customer_id=people[1].id,
                                channel="email", purpose="offers", status="denied",
                                decision_rule="quiet_hours"))  # fmt: skip
    dsr.file_request(session, people[2], "access", channel="staff", actor="t")
    page = officer.get("/compliance/dashboards")
    body = page.get_data(as_text=True)
    # Nothing expires within 90 days (consent lasts two years): that panel says so.
    assert page.status_code == 200 and body.count('role="img"') == 4
    assert body.count("No data yet") == 1
    assert "offers · email" in body and "75.0%" in body and "quiet_hours" in body
    rates = officer.get("/compliance/dashboards?panel=consent-rates&format=json").get_json()
    assert rates["rows"] == [{"purpose": "offers", "channel": "email", "customers": 3,
                              "rate": "75.0%"}]  # fmt: skip
    activity = officer.get("/compliance/dashboards?panel=consent-activity&format=csv")
    assert activity.get_data(as_text=True).splitlines()[1].endswith(",offers,4,1")
    expiring = officer.get("/compliance/dashboards?panel=expiring&format=json").get_json()
    assert expiring["table"] == "consents-expiring"
    assert officer.get("/compliance/dashboards?panel=nope&format=csv").status_code == 404


def test_expiring_consents_are_counted_in_30_60_90_day_buckets(session):
    from sqlalchemy import update

    from app.compliance.dashboards import expiring_soon
    from app.ledger.models import ConsentState
    from app.models_base import utcnow
    from app.transaction import transaction

    people = [make_customer(session, email=f"exp{n}@example.org") for n in range(4)]
    for person, days in zip(people, (10, 45, 80, 200), strict=True):
        grant(session, person, "offers", "email")
        with transaction(session):
            session.execute(
                update(ConsentState)
                .where(ConsentState.customer_id == person.id)
                .values(expires_at=utcnow() + timedelta(days=days))
            )
    panel = expiring_soon(session)
    assert panel.table.rows == [{"purpose": "offers", "d30": 1, "d60": 2, "d90": 3}]
