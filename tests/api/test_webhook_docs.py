"""The OpenAPI document describes the webhook messages: every event type, the signature
headers, and the body with the integrator's reference beside the pseudonymous id."""

from __future__ import annotations

from app.webhooks.outbox import EVENT_TYPES


def test_the_document_describes_every_webhook_event(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["webhooks"]) == set(EVENT_TYPES)
    post = document["webhooks"]["customer.erased"]["post"]
    assert {p["name"] for p in post["parameters"]} >= {"webhook-id", "webhook-signature"}
    data = document["components"]["schemas"]["WebhookEventData"]["properties"]
    assert {"customer_id", "reference", "record_id"} <= set(data)
    assert not {"email", "first_name", "phone"} & set(data)
