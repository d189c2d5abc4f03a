"""Webhook subscriptions for integrators: make, list, end, read deliveries, replay."""

from __future__ import annotations

from spectree import Response

from app.extensions import db
from app.integrations import subscriptions as service
from app.web.access import api_key_required
from app.web.api import bp, spec
from app.web.api.auth import actor
from app.web.api.idempotency import idempotent
from app.web.api.schemas import (
    Message,
    MessagePage,
    NewSubscription,
    PageQuery,
    Subscription,
    SubscriptionPage,
)
from app.web.problems import ApiProblem
from app.webhooks.models import WebhookSubscription

SCOPE = "webhooks:manage"


def _cursor(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ApiProblem(400, "The cursor is not one this API gave.")
    return int(text)


def _subscription(row: WebhookSubscription, secret: str | None = None) -> dict:
    return {
        "id": row.id,
        "url": row.url,
        "event_types": sorted(row.type_set),
        "description": row.description,
        "active": row.active,
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
        "secret": secret,
    }


@bp.post("/webhooks")
@api_key_required(SCOPE)
@spec.validate(resp=Response(HTTP_201=Subscription), tags=["webhooks"], force_resp_serialize=True)
@idempotent
def subscribe(json: NewSubscription):
    """Subscribe a URL to event types; the signing secret is in this answer only.

    Scope `webhooks:manage`. The platform keeps the secret only sealed under its key-encryption
    keys; a retry with the same `Idempotency-Key` gets this answer again while the record lasts.
    """
    row, secret = service.create_subscription(
        db.session(),
        url=json.url,
        event_types=json.event_types,
        created_by=actor(),
        description=json.description,
    )
    return _subscription(row, secret), 201


@bp.get("/webhooks")
@api_key_required(SCOPE)
@spec.validate(
    resp=Response(HTTP_200=SubscriptionPage), tags=["webhooks"], force_resp_serialize=True
)
def subscriptions(query: PageQuery):
    """The subscriptions, a page at a time (pass ``next_cursor`` back as ``cursor``).

    Scope `webhooks:manage`.
    """
    rows, last = service.subscriptions_page(db.session(), _cursor(query.cursor), query.limit)
    next_cursor = str(last) if last is not None else None
    return {"items": [_subscription(r) for r in rows], "next_cursor": next_cursor}, 200


@bp.delete("/webhooks/<int:subscription_id>")
@api_key_required(SCOPE)
@spec.validate(resp=Response("HTTP_204"), tags=["webhooks"])
def unsubscribe(subscription_id: int):
    """End a subscription (its undelivered messages are dropped).

    Scope `webhooks:manage`.
    """
    service.delete_subscription(db.session(), subscription_id)
    return "", 204


def _message(message, last) -> dict:
    return {
        "id": message.id,
        "msg_id": message.msg_id,
        "event_type": message.event_type,
        "status": message.status,
        "attempts": message.attempts,
        "created_at": message.created_at,
        "delivered_at": message.delivered_at,
        "last_status_code": last.status_code if last else None,
        "last_error": last.error if last else None,
    }


@bp.get("/webhooks/<int:subscription_id>/messages")
@api_key_required(SCOPE)
@spec.validate(resp=Response(HTTP_200=MessagePage), tags=["webhooks"], force_resp_serialize=True)
def messages(subscription_id: int, query: PageQuery):
    """The subscription's messages and their delivery, newest first, a page at a time.

    Scope `webhooks:manage`.
    """
    page, last = service.messages_page(
        db.session(), subscription_id, _cursor(query.cursor), query.limit
    )
    next_cursor = str(last) if last is not None else None
    return {"items": [_message(m, a) for m, a in page], "next_cursor": next_cursor}, 200


@bp.post("/webhooks/<int:subscription_id>/messages/<int:message_id>/replay")
@api_key_required(SCOPE)
@spec.validate(resp=Response(HTTP_200=Message), tags=["webhooks"], force_resp_serialize=True)
@idempotent
def replay(subscription_id: int, message_id: int):
    """Send a message again, with its id and body (a receiver deduplicates by id).

    Scope `webhooks:manage`.
    """
    message = service.replay(db.session(), subscription_id, message_id)
    return _message(message, None), 200
