"""Webhook tables: subscriptions, the durable outbox of messages, delivery attempts, cursors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow


class WebhookSubscription(Model):
    """Where an integrator wants events, which ones, and the secret the messages are signed with.

    The secret is shown once, when the subscription is made, and stored only sealed under the
    vault's key-encryption keys, bound to the URL (:mod:`app.integrations.sealing`): a copy of
    the database cannot sign, and a URL changed behind the platform's back gets nothing signed.
    A subscription that keeps failing is disabled (``disabled_at``, ``disabled_reason``).
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    event_types: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def type_set(self) -> frozenset[str]:
        """The event types this subscription receives."""
        return frozenset(self.event_types.split())


class WebhookMessage(Model):
    """One event for one subscription, kept until delivered (at least once, in order per
    customer); the payload is pseudonymous (customer id, what changed, record id). The
    integrator's own reference for the customer is added when the message is sent, from the
    customer's sealed copy; ``reference_sealed`` holds it, sealed under the vault's keys, only
    for the messages of a customer erased before they were sent."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        Index("ix_webhook_messages_due", "status", "next_attempt_at"),
        Index("ix_webhook_messages_order", "subscription_id", "customer_ref", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    msg_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    customer_ref: Mapped[str] = mapped_column(String(36), default="")
    payload: Mapped[str] = mapped_column(Text)
    reference_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: When the change happened: each customer's messages are delivered in this order.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(Model):
    """One delivery attempt of a message: when, the receiver's status code or the error."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class WebhookCursor(Model):
    """How far a source of events (the consent ledger) has been turned into messages."""

    __tablename__ = "webhook_cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    #: When the last read of the source began: every event it had committed is a message.
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
