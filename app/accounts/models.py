"""Staff user accounts (admin, marketer, compliance officer)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow

STAFF_ROLES = ("admin", "marketer", "compliance_officer")
ACCOUNT_KINDS = ("staff", "customer")


def new_alt_id() -> str:
    """A fresh session identifier; replacing it logs out every other session of the account."""
    return secrets.token_urlsafe(24)


class StaffUser(Model):
    """A member of staff who signs in to one console according to their role."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'marketer', 'compliance_officer')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    alt_id: Mapped[str] = mapped_column(String(64), unique=True, default=new_alt_id)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    kind = "staff"

    @property
    def is_active(self) -> bool:
        """Disabled accounts cannot sign in and lose existing sessions."""
        return self.active

    @property
    def display_name(self) -> str:
        """How the navigation names the signed-in member of staff."""
        return self.email


class SignInSession(Model):
    """One signed-in browser of a staff user or a customer, checked on every request.

    The browser's cookie carries a random session id; only its SHA-256 is stored, so a copy of
    the table opens no session. Neither the address nor the browser of the person is kept.
    """

    __tablename__ = "sign_in_sessions"
    __table_args__ = (
        CheckConstraint("account_kind IN ('staff', 'customer')", name="account_kind_known"),
        Index("ix_sign_in_sessions_account", "account_kind", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(32))
