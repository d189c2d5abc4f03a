"""Decrypting shared attributes for segment conditions, a batch of customers at a time.

Only fields a customer shares for the campaign's purpose are decrypted; erased customers and
values that do not decrypt are skipped (they simply do not match). Nothing decrypted leaves
this module except into the segment's ``matches``; nothing is logged or stored.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.runtime import runtime
from app.vault.envelope import FieldCipher
from app.vault.errors import VaultError
from app.vault.keystore import wrapped_keys
from app.vault.models import ProfileField, SharingChoice

log = logging.getLogger("assenso.campaigns")


def shared_values(
    session: Session, customer_ids: Sequence[int], fields: Collection[str], purpose: str
) -> dict[int, dict[str, str]]:
    """``{customer id: {field: value}}`` of ``fields`` each customer shares for ``purpose``."""
    if not customer_ids or not fields:
        return {}
    blobs = _shared_blobs(session, customer_ids, fields, purpose)
    refs = session.execute(
        select(Customer.id, Customer.ref).where(
            Customer.id.in_(list(blobs)), Customer.erased_at.is_(None)
        )
    ).all()
    keys = wrapped_keys(session, [customer_id for customer_id, _ in refs])  # key store
    keyring = runtime().vault_keys
    values: dict[int, dict[str, str]] = {}
    failures = 0
    for customer_id, ref in refs:
        if customer_id not in keys:
            continue  # erased: the key is gone
        try:
            cipher = FieldCipher.open(keyring, ref, keys[customer_id])
            values[customer_id] = cipher.decrypt_fields(blobs[customer_id])
        except VaultError:
            failures += 1
    if failures:
        log.warning("segment: %s customers' shared values could not be decrypted", failures)
    return values


def _shared_blobs(
    session: Session, customer_ids: Sequence[int], fields: Collection[str], purpose: str
) -> dict[int, dict[str, bytes]]:
    shared = (
        select(SharingChoice.customer_id, SharingChoice.field)
        .where(
            SharingChoice.customer_id.in_(list(customer_ids)),
            SharingChoice.field.in_(sorted(fields)),
            SharingChoice.purpose == purpose,
            SharingChoice.shared.is_(True),
        )
        .subquery()
    )
    rows = session.execute(
        select(ProfileField.customer_id, ProfileField.field, ProfileField.ciphertext).join(
            shared,
            (shared.c.customer_id == ProfileField.customer_id)
            & (shared.c.field == ProfileField.field),
        )
    )
    blobs: dict[int, dict[str, bytes]] = defaultdict(dict)
    for customer_id, field, ciphertext in rows:
        blobs[customer_id][field] = ciphertext
    return blobs
