"""Key rotation: rewrap data keys under the active KEK; re-index e-mail blind indexes.

Both operations work in small batches, each its own transaction, and select only rows still
under an old version — so they are resumable and safe to interrupt at any point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models_base import utcnow
from app.services import runtime
from app.transaction import transaction
from app.vault.blind_index import blind_index
from app.vault.envelope import FieldCipher, WrappedKey, rewrap_data_key
from app.vault.models import Customer, CustomerKey, ProfileField

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
        ).all()
    )
    indexes: dict[int, int] = {}
    for token, count in session.execute(
        select(func.substr(Customer.email_index, 1, 6), func.count())
        .where(Customer.email_index.is_not(None))
        .group_by(func.substr(Customer.email_index, 1, 6))
    ):
        version = int(token.split(":")[0].lstrip("v"))
        indexes[version] = indexes.get(version, 0) + count
    return VaultStatus(
        keys, indexes, rt.vault_keys.active_version, rt.blind_index_keys.active_version
    )


def rotate_kek(session: Session, batch_size: int = 500, progress: Progress | None = None) -> int:
    """Rewrap every data key not under the active KEK; profile ciphertexts are untouched."""
    keyring = runtime().vault_keys
    done = 0
    while True:
        with transaction(session):
            rows = session.execute(
                select(CustomerKey, Customer.ref)
                .join(Customer, Customer.id == CustomerKey.customer_id)
                .where(CustomerKey.kek_version != keyring.active_version)
                .order_by(CustomerKey.customer_id)
                .limit(batch_size)
            ).all()
            for key, ref in rows:
                fresh = rewrap_data_key(keyring, ref, WrappedKey(key.kek_version, key.wrapped_key))
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
                select(Customer, CustomerKey, ProfileField.ciphertext)
                .join(CustomerKey, CustomerKey.customer_id == Customer.id)
                .join(
                    ProfileField,
                    (ProfileField.customer_id == Customer.id) & (ProfileField.field == "email"),
                )
                .where(Customer.email_index.is_not(None), ~Customer.email_index.startswith(prefix))
                .order_by(Customer.id)
                .limit(batch_size)
            ).all()
            for customer, key, blob in rows:
                cipher = FieldCipher.open(
                    rt.vault_keys, customer.ref, WrappedKey(key.kek_version, key.wrapped_key)
                )
                customer.email_index = blind_index(
                    rt.blind_index_keys, cipher.decrypt("email", blob)
                )
        done += len(rows)
        if progress:
            progress(done)
        if len(rows) < batch_size:
            return done
