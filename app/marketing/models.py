"""Marketing tables: value fits, customer value scores, offer history — no plaintext.

Rows hold a customer id and derived scores or an offer id only; purchase history itself stays
encrypted in the vault. Per-customer tables follow the customer (``ON DELETE CASCADE``); value
scores are recomputed as a whole, so a customer who withdraws drops out at the next computation
and is excluded from the ``value_tier`` and ``value_class`` segment conditions at once (see
:mod:`.conditions`). A value fit holds model parameters and counts only, never a person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow


class ValueFit(Model):
    """One fit of the value models: parameters, data size, log-likelihoods, settings, classes."""

    __tablename__ = "value_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    time_unit: Mapped[str] = mapped_column(String(8))
    customers: Mapped[int] = mapped_column(Integer)
    repeat_customers: Mapped[int] = mapped_column(Integer)
    transactions: Mapped[int] = mapped_column(Integer)
    bgnbd_r: Mapped[float] = mapped_column(Float)
    bgnbd_alpha: Mapped[float] = mapped_column(Float)
    bgnbd_a: Mapped[float] = mapped_column(Float)
    bgnbd_b: Mapped[float] = mapped_column(Float)
    bgnbd_log_likelihood: Mapped[float] = mapped_column(Float)
    gg_p: Mapped[float] = mapped_column(Float)
    gg_q: Mapped[float] = mapped_column(Float)
    gg_gamma: Mapped[float] = mapped_column(Float)
    gg_log_likelihood: Mapped[float] = mapped_column(Float)
    margin_percent: Mapped[float] = mapped_column(Float)
    discount_rate_percent: Mapped[float] = mapped_column(Float)
    horizon_months: Mapped[int] = mapped_column(Integer)
    cost_per_order_cents: Mapped[int] = mapped_column(Integer)
    high_current_cents: Mapped[int | None] = mapped_column(Integer)
    high_potential_cents: Mapped[int | None] = mapped_column(Integer)
    class_counts_json: Mapped[str] = mapped_column(Text, default="{}")
    movement_json: Mapped[str] = mapped_column(Text, default="{}")
    seconds: Mapped[float] = mapped_column(Float)


class CustomerValue(Model):
    """RFM scores and tier; with a fit, the model's predictions and profitability class."""

    __tablename__ = "customer_values"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    recency_score: Mapped[int] = mapped_column(SmallInteger)
    frequency_score: Mapped[int] = mapped_column(SmallInteger)
    monetary_score: Mapped[int] = mapped_column(SmallInteger)
    tier: Mapped[str] = mapped_column(String(16), index=True)
    #: Expected spend in the next 12 months (BG/NBD x Gamma-Gamma); ``None`` without a fit.
    expected_value_cents: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    current_value_cents: Mapped[int | None] = mapped_column(Integer)
    fit_id: Mapped[int | None] = mapped_column(ForeignKey("value_fits.id", ondelete="SET NULL"))
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases: Mapped[float | None] = mapped_column(Float)
    expected_amount_cents: Mapped[int | None] = mapped_column(Integer)
    fltv_cents: Mapped[int | None] = mapped_column(Integer)
    value_class: Mapped[str | None] = mapped_column(String(16))


class OfferHistory(Model):
    """An offer (catalogue id, never text about the person) made to a customer, and when.

    ``arm`` says how it was chosen: ``model`` (Thompson sampling on what the customer taught)
    or ``random`` (the comparison share chosen uniformly). ``response`` is the customer's
    first answer to it (``click`` through the message's link, ``more`` or ``less`` like this
    in the portal), kept only while they allow learning (see :mod:`.responses`); the offer
    choice learns from these rows.
    """

    __tablename__ = "offer_history"
    __table_args__ = (Index("ix_offer_history_customer_at", "customer_id", "offered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    offer_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    arm: Mapped[str] = mapped_column(String(8), default="model", server_default="model")
    response: Mapped[str | None] = mapped_column(String(8))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
