"""Domain errors a view lets through become one kind of answer (app/web/errors.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import StaffUser
from app.errors import Conflict
from app.web.errors import handle_domain_error

OFFICER_EMAIL = "officer@staff.example.com"


@pytest.fixture
def officer(client, create_staff, login):
    """The test client signed in as a compliance officer."""
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    return client


def test_a_missing_record_is_a_404_page_with_the_domains_message(officer):
    response = officer.get("/compliance/ledger/no-such-record/receipt.json")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "No such consent record." in response.get_data(as_text=True)


def test_a_client_asking_for_json_gets_the_error_as_json(officer):
    response = officer.get(
        "/compliance/ledger/no-such-record/receipt.json", headers={"Accept": "application/json"}
    )
    assert response.status_code == 404
    assert response.get_json() == {"error": {"status": 404, "message": "No such consent record."}}


def test_the_status_is_the_domain_errors_own_and_the_session_is_rolled_back(app, session):
    session.add(StaffUser(email="half@staff.example.com", password_hash="x", role="marketer"))
    session.flush()
    with app.test_request_context("/api/v1/anything"):
        body, status = handle_domain_error(Conflict("The campaign changed meanwhile."))
    assert status == 409
    assert body.mimetype == "application/problem+json"  # the API answers RFC 9457 problems
    assert body.get_json()["detail"] == "The campaign changed meanwhile."
    unsaved = select(func.count()).where(StaffUser.email == "half@staff.example.com")
    assert session.scalar(unsaved) == 0
