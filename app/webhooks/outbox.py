"""The webhook outbox: one row per event and subscription, written in the change's transaction.

Payloads are pseudonymous: the customer's platform id (``customer_id``, the one the API
answered when the customer was made), what changed and the ledger record id; never a profile
value. The integrator's own ``reference`` for the customer is not stored here: it is added
when a message is sent (:mod:`app.integrations.delivery_keys`), from the customer's copy sealed
under their data key, or from ``reference_sealed`` for a customer erased meanwhile. Consent
events come from the ledger itself (:mod:`app.integrations.ledger_feed`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models_base import utcnow
from app.webhooks.models import WebhookMessage, WebhookSubscription

EVENT_TYPES = (
    "consent.granted",
    "consent.withdrawn",
    "consent.expired",
    "customer.objected",
    "customer.erased",
    "preferences.changed",
    "request.created",
    "request.closed",
)


#: Ledger actions and the event each one is reported as (others are not reported).
LEDGER_EVENTS = {
    "granted": "consent.granted",
    "confirmed": "consent.granted",
    "withdrawn": "consent.withdrawn",
    "expired": "consent.expired",
    "objected": "customer.objected",
}
LEDGER_SOURCE = "ledger"


def new_msg_id() -> str:
    """A message id (the ``webhook-id`` header; the same on every retry)."""
    return "msg_" + secrets.token_urlsafe(18)


def _body(event_type: str, at: datetime, data: Mapping[str, Any]) -> str:
    moment = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"type": event_type, "timestamp": moment, "data": dict(data)})


def _subscribers(session: Session, event_type: str) -> list[int]:
    rows = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types).where(
            WebhookSubscription.active.is_(True)
        )
    )
    return [sid for sid, types in rows if event_type in types.split()]


def enqueue(
    session: Session,
    event_type: str,
    customer_ref: str,
    data: Mapping[str, Any],
    at: datetime | None = None,
    reference_sealed: bytes | None = None,
) -> int:
    """Add the event for every active subscription to it, in the caller's transaction; the
    number of messages added. ``reference_sealed`` is the customer's reference kept for an
    erased customer (opaque here)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    moment = at or utcnow()
    body = _body(event_type, moment, {"customer_id": customer_ref, **data})
    subscribers = _subscribers(session, event_type)
    for subscription_id in subscribers:
        session.add(
            WebhookMessage(
                subscription_id=subscription_id,
                msg_id=new_msg_id(),
                event_type=event_type,
                customer_ref=customer_ref,
                payload=body,
                reference_sealed=reference_sealed,
                occurred_at=moment,
                next_attempt_at=moment,
            )
        )
    return len(subscribers)


def keep_reference(session: Session, customer_ref: str, reference_sealed: bytes) -> None:
    """Keep the (sealed) reference on the customer's messages not delivered (pending, or
    failed and so open to a replay), in the caller's transaction: their erasure makes the
    customer's own copy unreadable."""
    session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.customer_ref == customer_ref, WebhookMessage.status != "delivered")
        .values(reference_sealed=reference_sealed)
    )


def waiting(session: Session) -> int:
    """Messages not yet delivered and not given up on (due now or waiting for a retry): the
    webhook backlog the operator's metrics report (``assenso_webhook_backlog``). Consent events
    the ledger feed has not read yet are not counted until they are messages."""
    count = session.scalar(
        select(func.count()).select_from(WebhookMessage).where(WebhookMessage.status == "pending")
    )
    return int(count or 0)
