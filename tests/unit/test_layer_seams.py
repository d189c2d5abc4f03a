"""The seams that keep the layers one-way: offers for campaign runs, Flask-Login's adapter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.accounts.models import StaffUser
from app.campaigns import offers
from app.customers.models import Customer
from app.web.signed_in import SignedIn

AT = datetime(2026, 12, 5, 9, tzinfo=UTC)


def test_a_run_with_no_offer_source_stops_instead_of_sending_without_the_offer(monkeypatch):
    monkeypatch.setattr(offers, "_SOURCES", [])
    with pytest.raises(RuntimeError, match="no offer source"):
        offers.open_offers(None, AT, reason="run 1")  # type: ignore[arg-type]


def test_the_marketing_package_is_the_offer_source_of_every_run():
    import app.marketing  # noqa: F401  (what app.models imports in every process)
    from app.marketing.offer_service import _offers_of_run

    assert [_offers_of_run] == offers._SOURCES


def test_flask_login_sees_kind_and_rotatable_id_never_the_primary_key():
    staff = SignedIn(StaffUser(id=7, email="a@staff.example.com", role="marketer", alt_id="s1"))
    customer = SignedIn(Customer(id=8, alt_id="c1", registration_pending=False))
    assert staff.get_id() == "staff:s1" and customer.get_id() == "customer:c1"
    assert staff.role == "marketer" and customer.role == "customer"
    assert staff.display_name == "a@staff.example.com"


def test_erased_customers_and_disabled_staff_are_not_active():
    erased = Customer(id=1, alt_id="x", erased_at=AT, registration_pending=False)
    disabled = StaffUser(id=2, email="d@staff.example.com", role="admin", alt_id="y", active=False)
    assert not SignedIn(erased).is_active
    assert not SignedIn(disabled).is_active
    assert SignedIn(Customer(id=3, alt_id="z", registration_pending=False)).is_active
