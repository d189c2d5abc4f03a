"""Erasure (GDPR Art. 17) by crypto-shredding.

Destroying the customer's wrapped data key, in one transaction with their ciphertexts, makes
everything encrypted under it unreadable for good — including copies in backups taken before
and the evidence inside ledger events, which stay in place so the ledger's proofs still verify.
The customer remains as a pseudonymous id; the erasure itself is recorded.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.delivery.models import Suppression
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.models import (
    ContactPreferences,
    Customer,
    CustomerKey,
    Erasure,
    ProfileField,
    ProfileFieldHistory,
    SharingChoice,
)
from app.vault.service import CustomerErased

#: Rows holding a customer's personal data, removed with their data key.
SHREDDED = (ProfileField, ProfileFieldHistory, SharingChoice, ContactPreferences, CustomerKey)


def erase_customer(
    session: Session, customer: Customer, *, actor: str, reason: str | None
) -> Erasure:
    """Shred the customer's data key and data, keep a pseudonymous stub and a record."""
    if customer.erased_at is not None:
        raise CustomerErased("This customer's data was already erased.")
    with transaction(session):
        for model in SHREDDED:
            session.execute(delete(model).where(model.customer_id == customer.id))
        # A global suppression keeps the pseudonymous stub out of every audience for good.
        session.merge(
            Suppression(
                customer_id=customer.id, channel="*", reason="global_opt_out", source="erasure"
            )
        )
        customer.email_index = None
        customer.password_hash = None
        customer.email_verified = False
        customer.phone_verified = False
        customer.erased_at = utcnow()
        from app.accounts.models import new_alt_id

        customer.alt_id = new_alt_id()  # ends every session
        record = Erasure(customer_ref=customer.ref, actor=actor, reason=reason)
        session.add(record)
    return record
