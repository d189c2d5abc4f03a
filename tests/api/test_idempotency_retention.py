"""Idempotency records: answers stored sealed (no reference, address or signing secret in
clear), expired after their retention (a retry is then a new request), purged by the job and
the command."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text, update

from app.extensions import db
from app.integrations.idempotency_records import purge_expired
from app.integrations.models import IdempotentRequest
from app.models_base import utcnow
from app.settings import current_settings

DECISION = {"customer": {"reference": "r"}, "purpose": "offers", "channel": "email"}
NEW = {
    "reference": "crm-idem-1",
    "email": "idem@example.org",
    "profile": {"first_name": "Ilaria"},
    "jurisdiction": "IT",
}


def _raw(table: str) -> str:
    with db.engine.connect() as connection:
        return repr(connection.execute(text(f"SELECT * FROM {table}")).all())


def _age(session, hours: float) -> None:
    session.execute(update(IdempotentRequest).values(created_at=utcnow() - timedelta(hours=hours)))
    session.commit()


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(IdempotentRequest))


def test_a_stored_answer_names_no_customer_in_clear(api, session):
    headers = {"Idempotency-Key": "create-1"}
    first = api.post("/customers", json=NEW, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = api.post("/customers", json=NEW, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    raw = _raw("api_idempotency")
    for value in ("crm-idem-1", "idem@example.org", first.get_json()["customer_id"]):
        assert value not in raw


def test_a_webhook_secret_is_shown_once_and_stored_nowhere_in_clear(api):
    body = {"url": "https://hooks.example.com/in", "event_types": ["customer.erased"]}
    made = api.post("/webhooks", json=body, headers={"Idempotency-Key": "hook-1"})
    assert made.status_code == 201
    secret = made.get_json()["secret"]
    assert secret.startswith("whsec_")
    assert secret not in _raw("api_idempotency") + _raw("webhook_subscriptions")
    listed = api.get("/webhooks").get_json()["items"]
    assert [item["secret"] for item in listed] == [None]


def test_a_retry_after_the_retention_is_a_new_request(api, session):
    headers = {"Idempotency-Key": "late"}
    assert api.post("/decisions", json=DECISION, headers=headers).status_code == 200
    retention = current_settings().api_idempotency_retention_hours
    _age(session, retention - 1)
    kept = api.post("/decisions", json={**DECISION, "channel": "sms"}, headers=headers)
    assert kept.status_code == 422  # still within the retention: the key is taken
    _age(session, retention + 1)
    late = api.post("/decisions", json={**DECISION, "channel": "sms"}, headers=headers)
    assert late.status_code == 200
    assert "Idempotent-Replayed" not in late.headers
    assert _count(session) == 1
    replayed = api.post("/decisions", json={**DECISION, "channel": "sms"}, headers=headers)
    assert replayed.headers["Idempotent-Replayed"] == "true"


def test_expired_records_are_purged_by_the_job_and_the_command(api, session, runner, app):
    from app.compliance.jobs import purge_records

    for key in ("old-1", "old-2"):
        api.post("/decisions", json=DECISION, headers={"Idempotency-Key": key})
    _age(session, 48)
    api.post("/decisions", json=DECISION, headers={"Idempotency-Key": "fresh"})
    assert purge_expired(session, utcnow(), current_settings()) == 2
    assert _count(session) == 1
    _age(session, 48)
    result = runner.invoke(args=["api-keys", "purge-idempotency"])
    assert result.exit_code == 0 and "Purged 1" in result.output
    api.post("/decisions", json=DECISION, headers={"Idempotency-Key": "again"})
    _age(session, 48)
    from app.campaigns.jobs import bind_app

    bind_app(app)
    purge_records()
    session.rollback()
    assert _count(session) == 0
