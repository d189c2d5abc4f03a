"""Vault tables: wrapped data keys, encrypted fields, sharing choices, the customer's limits.

No column here holds personal data in plaintext: profile values are AES-GCM ciphertexts under
the customer's own data key, e-mail lookups use a keyed HMAC blind index. The customer row
itself is :class:`app.customers.models.Customer`.

The main database and the key store each carry the identity of the main database
(:class:`DatabaseIdentity`, :class:`KeystoreBinding`), so that one is never used with the other
of another installation (see :mod:`app.vault.stores`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow


class CustomerKey(Model):
    """The customer's data key, wrapped by a versioned key-encryption key.

    Stored in the separate key store (bind ``keystore``), never in the main database: a copy
    or backup of the main database therefore holds no key, and deleting this row shreds the
    customer's data in every copy of it. No foreign key can cross databases: sign-up and
    erasure order their writes to the two databases so that an interruption is finished or
    undone (:mod:`app.vault.registration`, :mod:`app.vault.erasure`), and
    :mod:`app.vault.consistency` finds and repairs what is left between them.
    """

    __bind_key__ = "keystore"
    __tablename__ = "customer_keys"

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kek_version: Mapped[int] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProfileField(Model):
    """One encrypted profile value of a customer."""

    __tablename__ = "profile_fields"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FieldSummary(Model):
    """A summary derived from one encrypted profile field, sealed under the same data key.

    ``source`` is the nonce of the field ciphertext it was made from (random for every
    sealing, not secret): a summary whose source differs from the field's is stale and is
    not used (see :mod:`app.vault.derived`).
    """

    __tablename__ = "field_summaries"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProfileFieldHistory(Model):
    """A previous value of a field, kept encrypted after a rectification."""

    __tablename__ = "profile_field_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)


class SharingChoice(Model):
    """Whether the customer shares one field for one purpose, and since when."""

    __tablename__ = "sharing_choices"
    __table_args__ = (Index("ix_sharing_choices_purpose_field", "purpose", "field", "shared"),)

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True)
    shared: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VaultAccess(Model):
    """An entry of the access log: who read which fields, for what, of how many customers."""

    __tablename__ = "vault_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(40))
    fields: Mapped[str] = mapped_column(String(400))
    customer_count: Mapped[int] = mapped_column(Integer)
    customer_ref: Mapped[str | None] = mapped_column(String(36), index=True)
    reason: Mapped[str | None] = mapped_column(Text)


class Erasure(Model):
    """The record that a customer's data was crypto-shredded (kept; names no one)."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_ref: Mapped[str] = mapped_column(String(36), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)


class ContactPreferences(Model):
    """The customer's own limits: contact windows, weekly cap, pause, preferred channel."""

    __tablename__ = "contact_preferences"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    windows_json: Mapped[str] = mapped_column(Text, default="[]")
    weekly_cap: Mapped[int | None] = mapped_column(Integer)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PreferenceChange(Model):
    """One change of the customer's sharing choices or contact limits, for their history.

    ``detail`` is JSON of what changed (field and purpose names, limits): the same choices the
    sharing and limits tables hold, no profile value. Deleted with the customer's data.
    """

    __tablename__ = "preference_changes"
    __table_args__ = (Index("ix_preference_changes_customer_at", "customer_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # sharing | contact_limits
    detail: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))


class DatabaseIdentity(Model):
    """The identity of this main database: one random value, written when it is created."""

    __tablename__ = "database_identity"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    identity: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KeystoreBinding(Model):
    """Which main database the key store belongs to, written when it is first used with one."""

    __bind_key__ = "keystore"
    __tablename__ = "keystore_binding"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    database_identity: Mapped[str] = mapped_column(String(36))
    #: The database's URL when the key store was bound, without password (for messages).
    database_url: Mapped[str] = mapped_column(String(500))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
