"""A compliance officer in Chromium: a ledger entry read as a page, a request's details shown
once however often the page is reloaded, a staff-entered request confirmed by the person and
answered with a download link, and the dashboards over time; every page checked with axe-core.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.compliance import requests as dsr
from app.compliance.request_identity import confirmation_link
from app.customers.models import Customer
from app.transaction import transaction
from app.vault.models import VaultAccess
from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD
from tests.integration.builders import grant, make_customer


def _sign_in(page, email: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/compliance/")


def _looks(session, ref: str) -> int:
    session.expire_all()
    return session.scalar(
        select(func.count()).select_from(VaultAccess).where(VaultAccess.customer_ref == ref)
    )


def test_entry_page_logged_look_and_dashboards(page, session, create_staff):
    officer = create_staff("compliance_officer", "officer@staff.example.com")
    marta = make_customer(session, email="marta.browser@example.org")
    event, _token = grant(session, marta, "offers", "email")
    row = dsr.file_request(session, marta, "rectification", channel="portal", actor="customer",
                           details="My city is Lecco, not Lucca")  # fmt: skip
    with transaction(session):
        session.execute(update(Customer).values(created_at=datetime.now(UTC) - timedelta(weeks=3)))
    _sign_in(page, officer.email)

    # A ledger entry opens as a readable page with its downloads.
    page.get_by_role("link", name="Ledger", exact=True).first.click()
    page.get_by_role("link", name=str(event.seq), exact=True).click()
    page.wait_for_url(f"**/compliance/ledger/{event.record_id}")
    assert page.get_by_role("heading", name=f"Ledger entry {event.seq}: granted").is_visible()
    assert page.get_by_text("Verified:").is_visible()
    with page.expect_download() as receipt:
        page.get_by_role("link", name="the consent receipt (JSON, with its proof)").click()
    assert receipt.value.suggested_filename == f"receipt-{event.record_id}.json"
    assert axe_violations(page) == []

    # Showing the details logs one look; reloading the page shows them without another.
    page.goto(f"/compliance/requests/{row.id}")
    before = _looks(session, marta.ref)
    page.get_by_role("button", name="Show (the look is logged)").click()
    page.get_by_text("My city is Lecco, not Lucca").wait_for()
    page.reload()
    assert page.get_by_text("My city is Lecco, not Lucca").is_visible()
    assert _looks(session, marta.ref) == before + 1
    assert axe_violations(page) == []

    # The dashboards draw the consent rate week by week and the time to close.
    page.goto("/compliance/dashboards")
    assert page.get_by_role(
        "heading", name="Consent rate per purpose and channel, week by week"
    ).is_visible()
    assert page.get_by_role(
        "img", name="Consent rate for offers, by channel, per week"
    ).is_visible()
    assert axe_violations(page) == []


def test_the_person_confirms_a_staff_request_in_the_browser(page, session, create_staff):
    officer = create_staff("compliance_officer", "officer@staff.example.com")
    nico = make_customer(session, email="nico.browser@example.org")
    row = dsr.file_request(session, nico, "access", channel="staff", actor="staff:test")
    _sign_in(page, officer.email)
    page.goto(f"/compliance/requests/{row.id}")
    assert page.get_by_text("not verified yet").is_visible()
    assert axe_violations(page) == []

    link = confirmation_link(row).split("/my-request/", 1)[1]
    base = page.url.split("/compliance")[0]
    visitor = page.context.browser.new_context(base_url=base, bypass_csp=True)  # for axe only
    person = visitor.new_page()
    person.goto(f"/my-request/{link}")
    assert axe_violations(person) == []
    person.get_by_role("button", name="Yes, this request is mine").click()
    person.get_by_text("is confirmed").wait_for()
    visitor.close()

    page.reload()
    assert page.get_by_role("cell", name="identity_verified").is_visible()
    assert page.get_by_text("not verified yet").count() == 0
    page.get_by_role("button", name="Send the export to the customer").click()
    page.get_by_role("heading", name="Export").wait_for()
    assert page.get_by_role("button", name="Send a new download link").is_visible()
