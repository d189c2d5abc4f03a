"""Key rotation: rewrap data keys under the active KEK; re-index e-mail blind indexes.

Both operations work in small batches, each its own transaction, and select only rows still
under an old version — so they are resumable and safe to interrupt at any point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.models_base import utcnow
from app.runtime import runtime
from app.transaction import transaction
from app.vault.blind_index import blind_index
from app.vault.envelope import FieldCipher, WrappedKey, rewrap_data_key
from app.vault.keystore import wrapped_keys
from app.vault.models import CustomerKey, ProfileField

Progress = Callable[[int], None]


@dataclass(frozen=True)
class VaultStatus:
    """Data keys per KEK version and blind indexes per index-key version."""

    keys_per_kek_version: dict[int, int]
    indexes_per_version: dict[int, int]
    active_kek_version: int
    active_index_version: int


def vault_status(session: Session) -> VaultStatus:
    """Count data keys per master-key version and indexes per index-key version."""
    rt = runtime()
    keys = dict(
        session.execute(
            select(CustomerKey.kek_version, func.count()).group_by(CustomerKey.kek_version)
        )
        .tuples()
        .all()
    )
    indexes: dict[int, int] = {}
    prefix = func.substr(Customer.email_index, 1, 6).label("prefix")
    rows = session.execute(
        select(prefix, func.count())
        .where(Customer.email_index.is_not(None))
        .group_by(text("prefix"))  # by alias: bound parameters would differ per clause
    )
    for token, count in rows:
        version = int(token.split(":")[0].lstrip("v"))
        indexes[version] = indexes.get(version, 0) + count
    return VaultStatus(
        keys, indexes, rt.vault_keys.active_version, rt.blind_index_keys.active_version
    )


def _refs(session: Session, customer_ids: list[int]) -> dict[int, str]:
    """Customer refs by id (the key store holds ids only)."""
    if not customer_ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.ref).where(Customer.id.in_(customer_ids)))
    return dict(rows.tuples().all())


def rotate_kek(session: Session, batch_size: int = 500, progress: Progress | None = None) -> int:
    """Rewrap every data key not under the active KEK; profile ciphertexts are untouched."""
    keyring = runtime().vault_keys
    done = 0
    while True:
        with transaction(session):
            rows = session.scalars(
                select(CustomerKey)
                .where(CustomerKey.kek_version != keyring.active_version)
                .order_by(CustomerKey.customer_id)
                .limit(batch_size)
            ).all()
            refs = _refs(session, [key.customer_id for key in rows])
            for key in rows:
                wrapped = WrappedKey(key.kek_version, key.wrapped_key)
                fresh = rewrap_data_key(keyring, refs[key.customer_id], wrapped)
                key.kek_version, key.wrapped_key, key.rotated_at = (
                    fresh.kek_version,
                    fresh.blob,
                    utcnow(),
                )
        done += len(rows)
        if progress:
            progress(done)
        if len(rows) < batch_size:
            return done


def reindex_emails(
    session: Session, batch_size: int = 500, progress: Progress | None = None
) -> int:
    """Recompute blind indexes still under an older index key (decrypting each address)."""
    rt = runtime()
    prefix = f"v{rt.blind_index_keys.active_version}:"
    done = 0
    while True:
        with transaction(session):
            rows = session.execute(
                select(Customer, ProfileField.ciphertext)
                .join(
                    ProfileField,
                    (ProfileField.customer_id == Customer.id) & (ProfileField.field == "email"),
                )
                .where(Customer.email_index.is_not(None), ~Customer.email_index.startswith(prefix))
                .order_by(Customer.id)
                .limit(batch_size)
            ).all()
            keys = wrapped_keys(session, [customer.id for customer, _ in rows])
            for customer, blob in rows:
                cipher = FieldCipher.open(rt.vault_keys, customer.ref, keys[customer.id])
                email = cipher.decrypt("email", blob)
                customer.email_index = blind_index(rt.blind_index_keys, email)
        done += len(rows)
        if progress:
            progress(done)
        if len(rows) < batch_size:
            return done
