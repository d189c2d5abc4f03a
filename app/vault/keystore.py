"""The key store: customers' wrapped data keys, in a database apart from the main one.

Keeping the keys apart is what makes erasure reach backups: a copy of the main database holds
ciphertexts but no key, and once a customer's key is deleted from the live key store nothing
can decrypt their ciphertexts in any copy. The key store must itself be replicated for
availability but not kept in long-lived backups (see README, "Key store").

Its tables (the keys, and the identity of the database it belongs to, see
:mod:`app.vault.stores`) are created on start-up when missing; it has no migrations of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models_base import among
from app.transaction import transaction
from app.vault.envelope import WrappedKey
from app.vault.models import CustomerKey

BIND = "keystore"
_CHUNK = 5000  # ids per statement: one array (PostgreSQL) or JSON array (SQLite) parameter


def ensure_schema(app: Flask) -> None:
    """Create the key store's tables when they do not exist yet."""
    with app.app_context():
        db.metadatas[BIND].create_all(bind=db.engines[BIND])


def wrapped_keys(session: Session, customer_ids: Iterable[int]) -> dict[int, WrappedKey]:
    """The wrapped data keys of ``customer_ids`` (erased customers are simply absent)."""
    ids = list(customer_ids)
    found: dict[int, WrappedKey] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(CustomerKey.customer_id, CustomerKey.kek_version, CustomerKey.wrapped_key).where(
                among(session, CustomerKey.customer_id, ids[start : start + _CHUNK])
            )
        )
        found.update({cid: WrappedKey(version, blob) for cid, version, blob in rows.tuples()})
    return found


def store_key(session: Session, customer_id: int, wrapped: WrappedKey) -> None:
    """Write a customer's wrapped data key, in a transaction of the key store alone.

    An existing key for the same customer is never overwritten: the insert fails instead.
    """
    with transaction(session):
        session.add(
            CustomerKey(
                customer_id=customer_id, kek_version=wrapped.kek_version, wrapped_key=wrapped.blob
            )
        )


def destroy_key(session: Session, customer_id: int, blob: bytes | None = None) -> None:
    """Delete a customer's data key (only if it is still ``blob``, when given), in a
    transaction of the key store alone; nothing to delete is fine."""
    condition = CustomerKey.customer_id == customer_id
    if blob is not None:
        condition &= CustomerKey.wrapped_key == blob
    with transaction(session):
        session.execute(delete(CustomerKey).where(condition))
