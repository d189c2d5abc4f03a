"""The webhook messages' body, described in the OpenAPI document's ``webhooks`` section.

Every event has the same shape: its type, when the change happened and pseudonymous data.
Nothing here is a profile value.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.webhooks.outbox import EVENT_TYPES

SIGNATURE_HEADERS = {
    "webhook-id": "The message id; the same on every retry (deduplicate by it).",
    "webhook-timestamp": "When this attempt was signed, in Unix seconds.",
    "webhook-signature": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` under the secret.",
}


class WebhookEventData(BaseModel):
    """What changed, for whom: pseudonymous ids only."""

    customer_id: str = Field(
        description="The platform's pseudonymous id (`customer_id` from `POST /customers`)."
    )
    reference: str | None = Field(
        None,
        description=(
            "The integrator's own reference for the customer, present when the customer was "
            "made with one through the API; `customer.erased` carries it too."
        ),
    )
    record_id: str | None = Field(None, description="The ledger record (consent events).")
    action: str | None = Field(None, description="The ledger action (consent events).")
    purpose: str | None = None
    channel: str | None = None
    changed: list[str] | None = Field(
        None, description="`preferences.changed`: `sharing` or `contact`."
    )
    request_id: int | None = Field(None, description="The data-subject request (`request.*`).")


class WebhookEvent(BaseModel):
    """The body of one webhook message, signed per Standard Webhooks."""

    type: str = Field(json_schema_extra={"enum": list(EVENT_TYPES)})
    timestamp: str = Field(description="When the change happened (UTC, ISO 8601).")
    data: WebhookEventData


def webhooks_section() -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI ``webhooks`` object (one entry per event type) and the schemas it names."""
    schema = WebhookEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    components = {"WebhookEvent": schema, **schema.pop("$defs", {})}
    headers = [
        {
            "name": name,
            "in": "header",
            "required": True,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in SIGNATURE_HEADERS.items()
    ]
    body = {"$ref": "#/components/schemas/WebhookEvent"}
    section = {
        event: {
            "post": {
                "summary": f"`{event}`",
                "parameters": headers,
                "requestBody": {"content": {"application/json": {"schema": body}}},
                "responses": {"2XX": {"description": "Received; any other answer is retried."}},
            }
        }
        for event in EVENT_TYPES
    }
    return section, components
