"""``Idempotency-Key``: a retried POST is answered from the database, never acted on twice."""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import func, select

from app.integrations.models import IdempotentRequest

DECISION = {"customer": {"reference": "r"}, "purpose": "offers", "channel": "email"}


def test_a_retry_gets_the_first_answer(api, session):
    headers = {"Idempotency-Key": "order-1"}
    first = api.post("/decisions", json=DECISION, headers=headers)
    again = api.post("/decisions", json=DECISION, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert session.scalar(select(func.count()).select_from(IdempotentRequest)) == 1


def test_the_same_key_with_another_body_is_refused(api):
    headers = {"Idempotency-Key": "order-2"}
    assert api.post("/decisions", json=DECISION, headers=headers).status_code == 200
    other = api.post("/decisions", json={**DECISION, "channel": "sms"}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["type"].endswith("idempotency-key-reused")


def test_keys_are_per_api_key(api, make_key):
    headers = {"Idempotency-Key": "shared"}
    assert api.post("/decisions", json=DECISION, headers=headers).status_code == 200
    other = make_key("decisions:read")
    second = api.post("/decisions", json={**DECISION, "channel": "sms"}, headers=headers, key=other)
    assert second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers


def test_a_request_still_in_hand_makes_a_retry_wait(api, session):
    from app.integrations.api_keys import authenticate

    key = authenticate(session, api.key)
    session.add(IdempotentRequest(key_id=key.id, idempotency_key="busy", fingerprint="x" * 64))
    session.commit()
    response = api.post("/decisions", json=DECISION, headers={"Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"


def test_a_malformed_key_is_a_bad_request(api):
    response = api.post("/decisions", json=DECISION, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400


def test_the_kept_fingerprint_cannot_be_recomputed_from_the_body_alone(api, session, app):
    by_email = {"customer": {"email": "ann@example.org"}, "purpose": "offers", "channel": "email"}
    assert api.post("/decisions", json=by_email, headers={"Idempotency-Key": "e-1"}).status_code
    kept = session.scalar(select(IdempotentRequest.fingerprint))
    canonical = json.dumps(by_email, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"POST /api/v1/decisions\n{canonical}".encode()
    assert kept != hashlib.sha256(text).hexdigest()
    secret = app.secret_key.encode() if isinstance(app.secret_key, str) else app.secret_key
    assert kept == hmac.new(secret, text, hashlib.sha256).hexdigest()
