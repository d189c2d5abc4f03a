"""API tables: integrators' keys (stored as keyed hashes) and remembered idempotent requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow


class ApiKey(Model):
    """An integrator's key: a public id, a keyed hash of the secret, scopes and limits.

    The secret itself is shown once, when the key is made, and never stored.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(80), unique=True)
    scopes: Mapped[str] = mapped_column(Text)
    rate_limit: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def scope_set(self) -> frozenset[str]:
        """The key's scopes."""
        return frozenset(self.scopes.split())


class IdempotentRequest(Model):
    """A POST made with an ``Idempotency-Key``: its fingerprint, then the answer it got.

    ``status_code`` is empty while the first request is being handled; a retry then waits
    for it (409) instead of acting a second time. The answer is stored sealed under the
    vault's keys (it may name a customer's reference or a webhook's signing secret). A record
    expires ``API_IDEMPOTENCY_RETENTION_HOURS`` after ``created_at`` and is then purged.
    """

    __tablename__ = "api_idempotency"
    __table_args__ = (
        UniqueConstraint("key_id", "idempotency_key"),
        Index("ix_api_idempotency_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
