"""Customers, notices, consent with receipts, preferences and requests through the API."""

from __future__ import annotations

from sqlalchemy import select

from app.compliance.models import DataSubjectRequest
from app.customers.models import Customer
from app.ledger.receipt_verify import verify_receipt
from app.runtime import runtime
from app.vault.models import VaultAccess
from tests.integration.builders import ensure_notice

NEW = {
    "reference": "crm-0001",
    "email": "anna@example.org",
    "profile": {"first_name": "Anna"},
    "language": "it",
    "jurisdiction": "IT",
    "timezone": "Europe/Rome",
}
ANNA = {"reference": "crm-0001"}


def _create(api, **changes):
    return api.post("/customers", json={**NEW, **changes})


def test_a_customer_is_created_with_a_blind_reference(api, session):
    response = _create(api)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["reference"] == "crm-0001"
    row = session.scalar(select(Customer).where(Customer.ref == body["customer_id"]))
    assert row.language == "it" and row.jurisdiction == "IT"
    assert "crm-0001" not in row.reference_index
    assert _create(api).status_code == 409
    assert _create(api, reference="crm-0002").status_code == 409  # the address is in use


def test_bad_profile_values_are_named_not_echoed(api):
    response = _create(api, profile={"birthday": "not a date"})
    assert response.status_code == 400
    assert "not a date" not in response.get_data(as_text=True)
    assert _create(api, timezone="Mars/Olympus").status_code == 400


def _grant(api, session, purpose="offers", channel="email", **extra):
    notice = ensure_notice(session, purpose)
    body = {
        "customer": ANNA,
        "purpose": purpose,
        "channel": channel,
        "notice_id": notice.id,
        "evidence": {
            "at": "2026-12-05T10:00:00Z",
            "ip_address": "203.0.113.7",
            "user_agent": "Kiosk/1.0",
        },
        **extra,
    }
    return api.post("/consents", json=body)


def test_consent_is_recorded_with_a_verifiable_receipt_and_withdrawn(api, session):
    _create(api)
    given = _grant(api, session)
    assert given.status_code == 201, given.get_json()
    body = given.get_json()
    assert body["status"] in ("granted", "pending")
    receipt = body["receipt"]
    assert receipt["record"]["record_id"] == body["record_id"]
    assert receipt["record"]["actor"] == "api-key:default integration"
    assert verify_receipt(receipt, runtime().signing_key.public_key()).ok
    withdrawn = api.post(
        "/consents/withdrawals", json={"customer": ANNA, "purpose": "offers", "channel": "email"}
    )
    assert withdrawn.get_json()["status"] == "withdrawn"
    again = api.post(
        "/consents/withdrawals", json={"customer": ANNA, "purpose": "offers", "channel": "email"}
    )
    assert again.get_json()["status"] == "unchanged"


def test_an_outdated_or_foreign_notice_is_refused(api, session):
    _create(api)
    other = ensure_notice(session, "birthday")
    assert _grant(api, session, notice_id=other.id).status_code == 400
    assert _grant(api, session, notice_id=999999).status_code == 400


def test_a_retried_grant_records_once(api, session):
    _create(api)
    headers = {"Idempotency-Key": "consent-1"}
    notice = ensure_notice(session, "offers")
    body = {"customer": ANNA, "purpose": "offers", "channel": "email", "notice_id": notice.id}
    first = api.post("/consents", json=body, headers=headers)
    second = api.post("/consents", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["record_id"] == second.get_json()["record_id"]
    from app.ledger.models import ConsentEvent

    actions = session.scalars(select(ConsentEvent.action)).all()
    assert len(actions) == 1


def test_unknown_customers_are_404_problems(api, session):
    ensure_notice(session, "offers")
    response = _grant(api, session)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_notices_in_force_per_purpose_and_language(api, session):
    ensure_notice(session, "offers")
    items = api.get("/notices?language=it").get_json()["items"]
    assert [(n["purpose"], n["language"]) for n in items] == [("offers", "en")]
    assert api.get("/notices?purpose=surveys").status_code == 404


def test_preferences_show_profile_values_only_with_customers_read(api, make_key, session):
    _create(api)
    _grant(api, session)
    plain = api.get("/customers/crm-0001/preferences", key=make_key("decisions:read"))
    assert plain.status_code == 200
    assert plain.get_json()["profile"] is None
    assert plain.get_json()["consents"][0]["purpose"] == "offers"
    full = api.get("/customers/crm-0001/preferences", key=make_key("customers:read", name="reader"))
    assert full.get_json()["profile"]["first_name"] == "Anna"
    log = session.scalars(select(VaultAccess).order_by(VaultAccess.id.desc())).first()
    assert log.actor == "api-key:reader"
    assert "first_name" in log.fields
    assert api.get("/customers/nobody/preferences").status_code == 404


def test_requests_go_to_the_compliance_queue(api, session):
    _create(api)
    response = api.post(
        "/requests", json={"customer": ANNA, "kind": "export", "details": "via call centre"}
    )
    assert response.status_code == 201, response.get_json()
    filed = session.get(DataSubjectRequest, response.get_json()["id"])
    assert (filed.kind, filed.channel, filed.status) == ("export", "api", "received")
    assert api.post("/requests", json={"customer": ANNA, "kind": "nonsense"}).status_code == 400


def test_webhook_subscriptions_are_managed_by_api(api):
    made = api.post(
        "/webhooks",
        json={"url": "https://receiver.example/hook", "event_types": ["consent.withdrawn"]},
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["secret"].startswith("whsec_")
    page = api.get("/webhooks?limit=1").get_json()
    assert [s["id"] for s in page["items"]] == [made.get_json()["id"]]
    assert page["items"][0]["secret"] is None
    assert api.get(f"/webhooks/{made.get_json()['id']}/messages").get_json()["items"] == []
    assert api.delete(f"/webhooks/{made.get_json()['id']}").status_code == 204
    assert api.delete(f"/webhooks/{made.get_json()['id']}").status_code == 404
    bad = api.post("/webhooks", json={"url": "https://x.example/h", "event_types": ["nope"]})
    assert bad.status_code == 400
