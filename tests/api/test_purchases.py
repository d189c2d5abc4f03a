"""``POST /events/purchases``: stored only for customers who consented to recommendations and
share their purchase history for them; otherwise answered as not stored, with the reason."""

from __future__ import annotations

import json

from app.vault.service import read_own_profile, set_sharing

ANNA = {"reference": "shop-1"}


def _customer(api):
    body = {
        "reference": "shop-1",
        "email": "buyer@example.org",
        "jurisdiction": "IT",
        "timezone": "Europe/Rome",
    }
    assert api.post("/customers", json=body).status_code == 201


def _purchase(api, **changes):
    body = {
        "customer": ANNA,
        "at": "2026-12-01T09:30:00+01:00",
        "amount": "12.50",
        "currency": "EUR",
        "category": "books",
        "order_reference": "ORD-1",
        **changes,
    }
    return api.post("/events/purchases", json=body)


def _held(session):
    from app.vault.references import find_by_reference

    customer = find_by_reference(session, "shop-1")
    return json.loads(read_own_profile(session, customer).get("purchase_history") or "[]")


def test_a_purchase_of_a_customer_who_does_not_share_is_not_stored(api, session):
    _customer(api)
    response = _purchase(api)
    assert response.status_code == 200
    assert response.get_json()["stored"] is False
    assert response.get_json()["reason"].startswith("Not stored: the customer has not consented")
    assert _held(session) == []


def test_a_purchase_of_a_customer_who_shares_is_stored_once(api, session):
    from app.marketing.eligibility import PROFILING_PURPOSE
    from app.vault.references import find_by_reference
    from tests.integration.builders import grant

    _customer(api)
    customer = find_by_reference(session, "shop-1")
    assert _purchase(api).get_json()["stored"] is False  # no consent yet
    grant(session, customer, PROFILING_PURPOSE)
    reason = _purchase(api).get_json()["reason"]
    assert reason == "Not stored: the customer does not share purchase history for recommendations."
    set_sharing(session, customer, {("purchase_history", PROFILING_PURPOSE): True})
    assert _purchase(api).get_json() == {"stored": True, "reason": None}
    assert _purchase(api).get_json()["stored"] is True  # the same order again
    assert _held(session) == [
        {"sku": "ORD-1", "category": "books", "amount_cents": 1250, "at": "2026-12-01T08:30:00Z"}
    ]


def test_another_currency_is_refused(api):
    _customer(api)
    assert _purchase(api, currency="JPY").status_code == 400
