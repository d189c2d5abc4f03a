"""A compliance officer in Chromium: search the ledger, download a customer's evidence package
(whose receipts verify offline), look at the report, and verify the ledger's integrity; every
console page checked with axe-core."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from app.ledger import consent
from app.ledger.receipt_verify import verify_receipt
from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD
from tests.integration.builders import grant, make_customer


def test_search_evidence_and_verification(page, session, create_staff):
    officer = create_staff("compliance_officer", "officer@staff.example.com")
    giulia = make_customer(session, email="giulia.browser@example.org")
    other = make_customer(session, email="other.browser@example.org")
    grant(session, giulia, "offers", "email")
    grant(session, other, "offers", "email")
    consent.withdraw(session, giulia, purpose="offers", channel="email", source="portal",
                     method="web_form", actor="customer")  # fmt: skip

    page.goto("/staff/login")
    page.get_by_label("E-mail address").fill(officer.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/compliance/")
    assert axe_violations(page) == []

    # Search the ledger by e-mail address.
    page.get_by_role("link", name="Ledger", exact=True).first.click()
    page.get_by_label("Customer e-mail").fill("giulia.browser@example.org")
    page.get_by_role("button", name="Search").click()
    table = page.get_by_role("table")
    assert table.get_by_text(giulia.ref).count() == 2 and table.get_by_text(other.ref).count() == 0
    assert axe_violations(page) == []

    # Open the customer and download the evidence package.
    table.get_by_role("link", name=giulia.ref).first.click()
    page.wait_for_url(f"**/compliance/customers/{giulia.id}")
    assert axe_violations(page) == []
    page.get_by_label("Reason for looking at these records").fill("Case 2026-117, DPA enquiry")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download evidence package (zip)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    key = archive.read("public-key.pem")
    receipts = [n for n in archive.namelist() if n.startswith("receipts/")]
    assert len(receipts) == 2
    assert all(verify_receipt(json.loads(archive.read(n)), key).ok for n in receipts)

    # The same evidence as a report on screen.
    page.get_by_label("Reason for looking at these records").fill("Case 2026-117, DPA enquiry")
    page.get_by_role("button", name="Show the report").click()
    assert page.get_by_role("heading", name="Consent events (2)").is_visible()
    assert axe_violations(page) == []

    # Verify the ledger; the progress page refreshes itself until the run ends.
    page.goto("/compliance/integrity")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Verify the whole ledger").click()
    page.wait_for_url("**/compliance/integrity/runs/*")
    page.get_by_text("Passed.").wait_for(timeout=20_000)
    assert axe_violations(page) == []
    page.goto("/compliance/integrity")
    assert page.get_by_role("cell", name="passed", exact=True).count() == 1

    # The other console pages are accessible too.
    for path in ("/compliance/requests", "/compliance/requests/new", "/compliance/dashboards",
                 "/compliance/policies", "/compliance/access-log",
                 f"/compliance/customers/{giulia.id}/messages"):  # fmt: skip
        page.goto(path)
        assert axe_violations(page) == [], path
