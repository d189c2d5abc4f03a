"""Suppressions (bounce, complaint, global opt-out) and the log of messages sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

SUPPRESSION_REASONS = ("bounce", "complaint", "global_opt_out", "sms_stop", "manual")


class Suppression(db.Model):
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


class SendLog(db.Model):
    """One message delivered to a customer: the input of frequency caps and histories."""

    __tablename__ = "send_log"
    __table_args__ = (Index("ix_send_log_customer_channel_at", "customer_id", "channel", "sent_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(40))
    transactional: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
