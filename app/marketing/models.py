"""Marketing tables: customer value scores and offer history — pseudonymous, no plaintext.

Rows hold a customer id and derived scores or an offer id only; purchase history itself stays
encrypted in the vault. Both tables follow the customer (``ON DELETE CASCADE``); value scores
are recomputed as a whole, so a customer who withdraws drops out at the next computation and
is excluded from the ``value_tier`` segment condition at once (see :mod:`.conditions`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow


class CustomerValue(db.Model):
    """RFM scores (1-5), value tier and expected 12-month value of one customer."""

    __tablename__ = "customer_values"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    recency_score: Mapped[int] = mapped_column(SmallInteger)
    frequency_score: Mapped[int] = mapped_column(SmallInteger)
    monetary_score: Mapped[int] = mapped_column(SmallInteger)
    tier: Mapped[str] = mapped_column(String(16), index=True)
    expected_value_cents: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OfferHistory(db.Model):
    """An offer (catalogue id, never text about the person) made to a customer, and when."""

    __tablename__ = "offer_history"
    __table_args__ = (Index("ix_offer_history_customer_at", "customer_id", "offered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    offer_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
