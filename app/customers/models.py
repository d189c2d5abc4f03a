"""The customer: a pseudonymous row with the settings every decision needs.

Nothing here is personal data in plaintext: the profile lives encrypted in the vault
(:mod:`app.vault.models`), the e-mail address only as a keyed blind index. Time zone, language
and jurisdiction are operational settings because every send decision needs them. Signing in
is the web layer's business (:mod:`app.web.signed_in` adapts a customer to Flask-Login).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.models import new_alt_id
from app.extensions import Model
from app.models_base import UTCDateTime, new_ref, utcnow


class Customer(Model):
    """A customer: a pseudonymous id plus the settings every decision needs."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_reference_index", "reference_index", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(36), unique=True, default=new_ref)
    email_index: Mapped[str | None] = mapped_column(String(80), unique=True)
    #: Keyed blind index of the integrator's own reference for the customer (the API's
    #: identifier; see :mod:`app.vault.references`).
    reference_index: Mapped[str | None] = mapped_column(String(80))
    #: The same reference sealed under the customer's own data key (erasure shreds it): webhook
    #: messages carry it (see :mod:`app.vault.references`).
    reference_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    alt_id: Mapped[str] = mapped_column(String(64), unique=True, default=new_alt_id)
    jurisdiction: Mapped[str] = mapped_column(String(8), default="EU")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    language: Mapped[str] = mapped_column(String(8), default="en")
    age_attested: Mapped[int | None] = mapped_column(Integer)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    objected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: True from the first write of a sign-up until its data key is in the key store; a
    #: sign-up that never got that far is undone (see :mod:`app.vault.registration`).
    registration_pending: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: When erasure was asked for; set before the data key is destroyed, so an interrupted
    #: erasure is found and finished (see :mod:`app.vault.erasure`).
    erasure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Summaries of the customer's suppressions and sharing choices for the audience query,
    #: kept by database triggers and never written here (see :mod:`app.vault.summaries`).
    suppressed_on: Mapped[str] = mapped_column(Text, server_default=",", deferred=True)
    shared_for: Mapped[str] = mapped_column(Text, server_default=",", deferred=True)

    kind = "customer"
    role = "customer"

    @property
    def is_active(self) -> bool:
        """Erased customers, and sign-ups that have not finished, cannot sign in."""
        return self.erased_at is None and not self.registration_pending

    @property
    def display_name(self) -> str:
        """How the portal names the signed-in customer without decrypting anything."""
        return "your account"
