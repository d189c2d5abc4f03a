"""Compliance console: readable ledger entries, looks that are logged once, the assignee list.

A ledger entry is a page (record, notice, proof and its checks) with the record and the receipt
as downloads; "Show" posts, logs one look and redirects, so reloading logs nothing more; only
staff who can open requests are offered as assignees.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.compliance import request_queries as queries
from app.compliance import requests as dsr
from app.vault.models import VaultAccess
from tests.helpers import csrf_token
from tests.integration.builders import grant, make_customer

OFFICER_EMAIL = "officer@staff.example.com"


@pytest.fixture
def officer(client, create_staff, login):
    """The test client signed in as a compliance officer."""
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    return client


def test_a_ledger_entry_opens_as_a_readable_page_with_its_downloads(officer, session):
    anna = make_customer(session, email="anna.entry@example.org")
    event, _token = grant(session, anna, "offers", "email")
    listing = officer.get(f"/compliance/ledger?ref={anna.ref}").get_data(as_text=True)
    page_url = f"/compliance/ledger/{event.record_id}"
    assert f'href="{page_url}"' in listing
    response = officer.get(page_url)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f"Ledger entry {event.seq}: granted" in page
    assert anna.ref in page and "offers / email" in page
    assert "Verified:" in page and "does not verify" not in page
    assert f'href="{page_url}/record.json"' in page and f'href="{page_url}/receipt.json"' in page
    record = officer.get(f"{page_url}/record.json")
    assert (
        record.mimetype == "application/json"
        and "attachment" in record.headers["Content-Disposition"]
    )
    assert record.get_json()["record_id"] == event.record_id
    receipt = officer.get(f"{page_url}/receipt.json").get_json()
    assert receipt["record"] == record.get_json()
    assert officer.get("/compliance/ledger/no-such-record").status_code == 404
    assert officer.get("/compliance/ledger/no-such-record/record.json").status_code == 404


def _looks(session, ref: str) -> int:
    return session.scalar(
        select(func.count()).select_from(VaultAccess).where(VaultAccess.customer_ref == ref)
    )


def test_showing_the_details_logs_one_look_and_reloading_logs_none(officer, session):
    customer = make_customer(session, email="carla.look@example.org")
    row = dsr.file_request(
        session,
        customer,
        "rectification",
        channel="staff",
        actor="staff:test",
        details="My surname is Quintavallo",
    )
    path = f"/compliance/requests/{row.id}"
    before = _looks(session, customer.ref)
    shown = officer.post(f"{path}/details", data={"csrf_token": csrf_token(officer, path)})
    assert shown.status_code == 303 and "look=" in shown.location
    assert _looks(session, customer.ref) == before + 1
    for _reload in range(3):
        page = officer.get(shown.location)
        assert page.status_code == 200 and "Quintavallo" in page.get_data(as_text=True)
    assert _looks(session, customer.ref) == before + 1
    assert "Quintavallo" not in officer.get(path).get_data(as_text=True)
    look = int(shown.location.split("look=")[1].split("#")[0])
    assert officer.get(f"{path}?look={look + 1000}").status_code == 404
    assert officer.get(f"{path}?look=abc").status_code == 400


def test_a_look_is_the_officers_own_and_expires(session, create_staff):
    from datetime import timedelta

    from app.compliance.request_looks import LOOK_LIFETIME, details_of_look, look_at_details
    from app.errors import Conflict, NotFound
    from app.models_base import utcnow

    customer = make_customer(session, email="dario.look@example.org")
    row = dsr.file_request(
        session, customer, "access", channel="staff", actor="staff:test", details="Since 2019"
    )
    look = look_at_details(session, row, actor="staff:a@staff.example.com")
    assert details_of_look(session, row, look, actor="staff:a@staff.example.com") == "Since 2019"
    with pytest.raises(NotFound):
        details_of_look(session, row, look, actor="staff:b@staff.example.com")
    with pytest.raises(Conflict):
        later = utcnow() + LOOK_LIFETIME + timedelta(seconds=1)
        details_of_look(session, row, look, actor="staff:a@staff.example.com", now=later)


def test_only_staff_who_can_open_requests_are_offered_as_assignees(
    officer, session, create_staff, app
):
    from app.web.access import rule_for

    assert set(rule_for(app, "compliance.request_detail")) == set(dsr.HANDLER_ROLES)
    create_staff("compliance_officer", "second.officer@staff.example.com")
    create_staff("admin", "admin@staff.example.com")
    create_staff("marketer", "marketer@staff.example.com")
    gone = create_staff("compliance_officer", "former.officer@staff.example.com")
    gone.active = False
    session.commit()
    customer = make_customer(session, email="elena.assign@example.org")
    row = dsr.file_request(session, customer, "access", channel="staff", actor="staff:test")
    page = officer.get(f"/compliance/requests/{row.id}").get_data(as_text=True)
    offered = page.split('id="assignee"')[1].split("</select>")[0]
    assert OFFICER_EMAIL in offered and "second.officer@" in offered
    for refused in ("admin@", "marketer@", "former.officer@"):
        assert refused not in offered
    path = f"/compliance/requests/{row.id}"
    token = csrf_token(officer, path)
    answer = officer.post(f"{path}/assign", data={"csrf_token": token, "assignee": gone.id})
    assert answer.status_code == 400
    assert "active compliance officer" in answer.get_data(as_text=True)


def test_ledger_and_access_log_exports_follow_the_pages_order(officer, session):
    people = [make_customer(session, email=f"order{i}@example.org") for i in range(3)]
    for person in people:
        grant(session, person, "offers", "email")
    page = officer.get("/compliance/ledger").get_data(as_text=True)
    shown = [
        int(cell.split("</a>")[0].rsplit(">", 1)[1])
        for cell in page.split('href="/compliance/ledger/')[1:]
    ]
    exported = [
        row["seq"] for row in officer.get("/compliance/ledger?format=json").get_json()["rows"]
    ]
    assert exported == shown == sorted(shown, reverse=True)
    csv_seqs = [
        line.split(",")[0]
        for line in officer.get("/compliance/ledger?format=csv")
        .get_data(as_text=True)
        .splitlines()[1:]
    ]
    assert [int(s) for s in csv_seqs] == exported
    for person in people:
        dsr.file_request(session, person, "access", channel="staff", actor="staff:test",
                         details="Everything please")  # fmt: skip
        dsr.read_details(session, queries.customer_requests(session, person)[0], actor="staff:test")
    log = officer.get("/compliance/access-log?format=json").get_json()["rows"]
    assert [row["id"] for row in log] == sorted((row["id"] for row in log), reverse=True)


def test_detail_tables_export_as_csv_and_json(officer, session):
    customer = make_customer(session, email="gianna.tables@example.org")
    event, _token = grant(session, customer, "offers", "email")
    row = dsr.file_request(session, customer, "access", channel="staff", actor="staff:test")
    dsr.extend(session, row, "Records span ten years of history", actor="staff:test")
    path = f"/compliance/requests/{row.id}"
    page = officer.get(path).get_data(as_text=True)
    assert f'href="{path}?format=csv"' in page and f'href="{path}?format=json"' in page
    history = officer.get(f"{path}?format=json").get_json()
    steps = [r["action"] for r in history["rows"] if r["actor"] == "staff:test"]
    assert steps == ["received", "extended"]
    csv_text = officer.get(f"{path}?format=csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "When (UTC),Who,What,Note" and "extended" in csv_text
    entry = f"/compliance/ledger/{event.record_id}"
    checks = officer.get(f"{entry}?format=json").get_json()["rows"]
    assert {c["name"] for c in checks} >= {"leaf_hash", "inclusion", "signature"}
    assert all(c["passed"] for c in checks)
    assert officer.get(f"{entry}?format=csv").mimetype == "text/csv"
    assert officer.get(f"{entry}?format=xml").status_code == 400
