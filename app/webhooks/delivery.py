"""Delivering webhook messages: at least once, in order per customer, with retries.

:func:`deliver_due` claims due messages under a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), skipping any message with an older undelivered one for the same subscription and
customer, so each customer's events arrive in the order they happened (``occurred_at``). A
message of another kind than the ledger's is claimed only once the ledger has been read past
its time (with a margin for appends still committing), so a consent event never arrives after
a later change of another kind. A 2xx answer delivers;
anything else is retried after ``WEBHOOK_RETRY_BASE_SECONDS`` doubled per attempt, until
``WEBHOOK_MAX_ATTEMPTS`` (then ``failed``). A subscription whose attempts fail
``WEBHOOK_DISABLE_AFTER`` times in a row is disabled. Every attempt is logged.

The subscription's secret is sealed and the stored body lacks the customer's reference: the
caller's ``prepare`` (:func:`app.integrations.sealing.prepare`, above the vault) opens both
for the messages in hand. A message it cannot open is not sent (the attempt is recorded as
failed and retried like any other).
"""

from __future__ import annotations

import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.models_base import utcnow
from app.transaction import transaction
from app.webhooks.models import (
    WebhookAttempt,
    WebhookCursor,
    WebhookMessage,
    WebhookSubscription,
)
from app.webhooks.outbox import LEDGER_EVENTS, LEDGER_SOURCE
from app.webhooks.signing import signed_headers

log = logging.getLogger("assenso.webhooks")
LEASE = timedelta(seconds=60)
#: How long a ledger append may take between taking its time and committing.
COMMIT_MARGIN = timedelta(milliseconds=200)
#: The longest wait between two attempts.
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Policy:
    """How deliveries are retried (from the settings)."""

    max_attempts: int
    retry_base_seconds: float
    disable_after: int
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message in hand, with what sending it needs (sealed)."""

    id: int
    msg_id: str
    payload: str
    attempts: int
    subscription_id: int
    url: str
    secret_sealed: bytes
    customer_ref: str
    reference_sealed: bytes | None


@dataclass(frozen=True, slots=True)
class Ready:
    """What is sent for a claimed message: the opened secret and the final body."""

    secret: str
    body: str


#: Opens the claimed messages' secrets and bodies: message id -> what to send (a message
#: missing from the answer is not sent).
Prepare = Callable[[Session, list[Claimed]], dict[int, Ready]]


def _claim(session: Session, now: datetime, limit: int) -> tuple[str, list[Claimed]]:
    earlier = aliased(WebhookMessage)
    blocked = exists().where(
        earlier.subscription_id == WebhookMessage.subscription_id,
        earlier.customer_ref == WebhookMessage.customer_ref,
        earlier.status == "pending",
        or_(
            earlier.occurred_at < WebhookMessage.occurred_at,
            and_(earlier.occurred_at == WebhookMessage.occurred_at, earlier.id < WebhookMessage.id),
        ),
    )
    token = secrets.token_hex(16)
    with transaction(session):
        scanned = session.scalar(
            select(WebhookCursor.scanned_at).where(WebhookCursor.source == LEDGER_SOURCE)
        )
        if scanned is None:
            return token, []
        read_up_to = scanned - COMMIT_MARGIN
        rows = session.execute(
            select(WebhookMessage, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookMessage.subscription_id)
            .where(
                WebhookMessage.status == "pending",
                WebhookMessage.next_attempt_at <= now,
                or_(
                    WebhookMessage.occurred_at <= read_up_to,
                    WebhookMessage.event_type.in_(set(LEDGER_EVENTS.values())),
                ),
                or_(WebhookMessage.lease_until.is_(None), WebhookMessage.lease_until < now),
                WebhookSubscription.active.is_(True),
                ~blocked,
            )
            .order_by(WebhookMessage.occurred_at, WebhookMessage.id)
            .limit(limit)
            .with_for_update(of=WebhookMessage, skip_locked=True)
        ).all()
        claimed = []
        for message, subscription in rows:
            message.lease_until, message.lease_token = now + LEASE, token
            claimed.append(
                Claimed(
                    message.id,
                    message.msg_id,
                    message.payload,
                    message.attempts,
                    subscription.id,
                    subscription.url,
                    subscription.secret_sealed,
                    message.customer_ref,
                    message.reference_sealed,
                )
            )
    return token, claimed


def _post(item: Claimed, ready: Ready | None, timeout: float) -> tuple[int | None, str | None]:
    """POST the signed message; the status code, or the error's kind."""
    if ready is None:
        return None, "secret or reference could not be opened"
    headers = signed_headers(ready.secret, item.msg_id, utcnow(), ready.body)
    request = urllib.request.Request(  # noqa: S310  (http and https only: checked on create)
        item.url, data=ready.body.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return None, type(exc).__name__


def _record(
    session: Session,
    item: Claimed,
    token: str,
    code: int | None,
    error: str | None,
    ms: int,
    policy: Policy,
) -> None:
    now = utcnow()
    ok = code is not None and 200 <= code < 300
    with transaction(session):
        session.add(
            WebhookAttempt(
                message_id=item.id, attempted_at=now, status_code=code, error=error, duration_ms=ms
            )
        )
        attempts = item.attempts + 1
        values: dict = {"attempts": attempts, "lease_until": None, "lease_token": None}
        if ok:
            values |= {"status": "delivered", "delivered_at": now}
        elif attempts >= policy.max_attempts:
            values |= {"status": "failed"}
        else:
            wait = timedelta(seconds=policy.retry_base_seconds * 2 ** (attempts - 1))
            values |= {"next_attempt_at": now + min(wait, MAX_BACKOFF)}
        session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.id == item.id, WebhookMessage.lease_token == token)
            .values(**values)
        )
        _count(session, item.subscription_id, ok, policy)


def _count(session: Session, subscription_id: int, ok: bool, policy: Policy) -> None:
    subscription = session.get_one(WebhookSubscription, subscription_id)
    if ok:
        subscription.consecutive_failures = 0
        return
    subscription.consecutive_failures += 1
    if subscription.consecutive_failures >= policy.disable_after and subscription.active:
        subscription.active = False
        subscription.disabled_at = utcnow()
        subscription.disabled_reason = (
            f"disabled after {subscription.consecutive_failures} failed attempts in a row"
        )
        log.warning("webhook subscription %s disabled after repeated failures", subscription_id)


def deliver_due(session: Session, policy: Policy, prepare: Prepare, limit: int = 50) -> int:
    """Claim and send due messages (one attempt each); the number attempted."""
    token, claimed = _claim(session, utcnow(), limit)
    opened = prepare(session, claimed) if claimed else {}
    for item in claimed:
        started = time.monotonic()
        code, error = _post(item, opened.get(item.id), policy.timeout_seconds)
        elapsed = int((time.monotonic() - started) * 1000)
        _record(session, item, token, code, error, elapsed, policy)
    return len(claimed)


def pending_for(session: Session, subscription_id: int) -> int:
    """How many messages of a subscription wait to be delivered."""
    return len(
        session.scalars(
            select(WebhookMessage.id).where(
                and_(
                    WebhookMessage.subscription_id == subscription_id,
                    WebhookMessage.status == "pending",
                )
            )
        ).all()
    )
