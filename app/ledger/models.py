"""Ledger tables: notices, insert-only consent events, Merkle nodes, checkpoints, state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow


class Notice(Model):
    """One version of the privacy notice shown when asking for a purpose, in one language."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("purpose", "language", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsentEvent(Model):
    """A consent record: one leaf of the Merkle tree. Rows are never updated or deleted."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_customer_seq", "customer_ref", "seq"),
        Index("ix_consent_events_time_seq", "event_time", "seq"),
        Index("ix_consent_events_purpose_seq", "purpose", "seq"),
    )

    # On SQLite an INTEGER primary key is the rowid: the table is stored in ledger order.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    record_id: Mapped[str] = mapped_column(String(36), unique=True)
    customer_ref: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(24))
    lawful_basis: Mapped[str] = mapped_column(String(24))
    notice_id: Mapped[int | None] = mapped_column(Integer)
    notice_version: Mapped[int | None] = mapped_column(Integer)
    notice_hash: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    jurisdiction: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence: Mapped[bytes | None] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)


class MerkleNode(Model):
    """The hash of a complete perfect subtree: level 0 are leaves (insert-only)."""

    __tablename__ = "merkle_nodes"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on (level, idx) on SQLite

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class Checkpoint(Model):
    """A signed tree head: size, root hash, time and Ed25519 signature (insert-only)."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(200))
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class ConsentState(Model):
    """Current consent per customer, purpose and channel: a projection of the ledger."""

    __tablename__ = "consent_state"
    __table_args__ = (
        Index("ix_consent_state_purpose_channel", "purpose", "channel", "status"),
        {"sqlite_with_rowid": False},  # clustered on its key on SQLite (one B-tree per lookup)
    )

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    lawful_basis: Mapped[str | None] = mapped_column(String(24))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_version: Mapped[int | None] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerVerification(Model):
    """The outcome of one run of the ledger verifier."""

    __tablename__ = "ledger_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ok: Mapped[bool | None] = mapped_column(Boolean)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    checked: Mapped[int] = mapped_column(BigInteger, default=0)
    first_bad_seq: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))


class LedgerHead(Model):
    """The ledger's size; appends increment it first, which serialises concurrent writers."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
