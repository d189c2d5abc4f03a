"""Outbox entries (one intended message each), the send log and suppressions (bounce,
complaint, global opt-out)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, db
from app.models_base import UTCDateTime, utcnow

SUPPRESSION_REASONS = ("bounce", "complaint", "global_opt_out", "sms_stop", "manual")


class Suppression(Model):
    """A channel (or ``*`` for all) on which the customer must not be contacted."""

    __tablename__ = "suppressions"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SendLog(Model):
    """One message delivered to a customer: the input of frequency caps and histories."""

    __tablename__ = "send_log"
    __table_args__ = (
        Index("ix_send_log_customer_channel_at", "customer_id", "channel", "sent_at"),
        # The audience's rolling week: customers with many counted sends, from one range.
        Index("ix_send_log_channel_window", "channel", "transactional", "sent_at", "customer_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(40))
    transactional: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)


OUTBOX_STATES = ("pending", "leased", "sent", "failed", "denied", "cancelled")


class OutboxEntry(Model):
    """One intended message; its idempotency key makes delivery exactly-once.

    Holds ids only: no address, no name, no rendered text. The worker decrypts and renders at
    send time, after re-checking the policy.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_not_before_id", "status", "not_before", "id"),
        Index("ix_outbox_run_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="campaign")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_runs.id", ondelete="SET NULL"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(40))
    variant: Mapped[str | None] = mapped_column(String(8))
    template_key: Mapped[str | None] = mapped_column(String(40))
    payload_json: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leased_by: Mapped[str | None] = mapped_column(String(80))
    #: Random and unique to the claim that holds the lease: every write of a worker about a
    #: leased entry names it, so a worker that lost its lease (even to a replacement running
    #: under the same ``leased_by``) changes nothing.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(200))
    decision_rule: Mapped[str | None] = mapped_column(String(40))
    policy_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
