"""Webhook subscriptions: made and ended by admins (console) or integrators (API), their
messages, and replay of a message."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.integrations.ledger_feed import fan_out_ledger
from app.integrations.sealing import prepare, seal_secret
from app.models_base import utcnow
from app.settings import Settings
from app.transaction import transaction
from app.webhooks.delivery import Policy, deliver_due
from app.webhooks.models import WebhookAttempt, WebhookMessage, WebhookSubscription
from app.webhooks.outbox import EVENT_TYPES
from app.webhooks.signing import new_secret

log = logging.getLogger("assenso.webhooks")


def check_url(url: str) -> str:
    """An http(s) URL with a host; ``InvalidInput`` otherwise."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput("Give the receiver's address as an http:// or https:// URL.")
    return url.strip()


def create_subscription(
    session: Session, *, url: str, event_types: list[str], created_by: str, description: str = ""
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to ``event_types``; the row and its signing secret, which is stored
    only sealed and never shown again."""
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        raise InvalidInput(f"Choose event types among {', '.join(EVENT_TYPES)}.")
    address, secret = check_url(url), new_secret()
    with transaction(session):
        subscription = WebhookSubscription(
            url=address,
            secret_sealed=seal_secret(address, secret),
            event_types=" ".join(sorted(set(event_types))),
            description=(description or "").strip()[:200],
            created_by=created_by,
        )
        session.add(subscription)
    return subscription, secret


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    """The subscription, or ``NotFound``."""
    found = session.get(WebhookSubscription, subscription_id)
    if found is None:
        raise NotFound("No such webhook subscription.")
    return found


def set_active(session: Session, subscription_id: int, active: bool) -> WebhookSubscription:
    """Disable a subscription, or enable it again (its failure count starts over)."""
    with transaction(session):
        subscription = get_subscription(session, subscription_id)
        subscription.active = active
        subscription.consecutive_failures = 0
        subscription.disabled_at = None if active else utcnow()
        subscription.disabled_reason = None if active else "disabled by hand"
    return subscription


def delete_subscription(session: Session, subscription_id: int) -> None:
    """End a subscription and forget its messages."""
    with transaction(session):
        session.delete(get_subscription(session, subscription_id))


def subscriptions_page(
    session: Session, after: int | None, limit: int
) -> tuple[list[WebhookSubscription], int | None]:
    """Subscriptions by id after ``after``; the page and the last id when more follow."""
    query = select(WebhookSubscription).order_by(WebhookSubscription.id).limit(limit + 1)
    if after is not None:
        query = query.where(WebhookSubscription.id > after)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    return rows[:limit], rows[limit - 1].id if more else None


def messages_page(
    session: Session, subscription_id: int, before: int | None, limit: int
) -> tuple[list[tuple[WebhookMessage, WebhookAttempt | None]], int | None]:
    """A subscription's messages, newest first, with each one's last attempt."""
    get_subscription(session, subscription_id)
    query = (
        select(WebhookMessage)
        .where(WebhookMessage.subscription_id == subscription_id)
        .order_by(WebhookMessage.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(WebhookMessage.id < before)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    page = []
    for message in rows[:limit]:
        last = session.scalar(
            select(WebhookAttempt)
            .where(WebhookAttempt.message_id == message.id)
            .order_by(WebhookAttempt.id.desc())
            .limit(1)
        )
        page.append((message, last))
    return page, rows[limit - 1].id if more else None


def replay(session: Session, subscription_id: int, message_id: int) -> WebhookMessage:
    """Send a message again (same id and body): it becomes pending, due now."""
    with transaction(session):
        message = session.get(WebhookMessage, message_id)
        if message is None or message.subscription_id != subscription_id:
            raise NotFound("No such webhook message.")
        if message.status == "pending":
            raise Conflict("This message is already waiting to be delivered.")
        message.status, message.attempts = "pending", 0
        message.next_attempt_at, message.delivered_at = utcnow(), None
        message.lease_until = message.lease_token = None
    return message


def policy_of(settings: Settings) -> Policy:
    """The delivery policy the settings give."""
    return Policy(
        settings.webhook_max_attempts,
        settings.webhook_retry_base_seconds,
        settings.webhook_disable_after,
        settings.webhook_timeout_seconds,
    )


def run_webhooks(session: Session, settings: Settings) -> int:
    """One round for a delivery worker: new ledger events into messages, then deliver what is
    due; the work done (0 when idle).

    A database error (two workers making the ledger cursor at once, a lost connection) ends
    the round, not the worker: what was not committed is done by a later round.
    """
    try:
        read = fan_out_ledger(session)
        return read + deliver_due(session, policy_of(settings), prepare)
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("webhook round stopped (%s); retried next round", type(exc).__name__)
        return 0
