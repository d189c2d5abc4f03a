"""Erasure (GDPR Art. 17) by crypto-shredding.

Destroying the customer's wrapped data key makes everything encrypted under it unreadable for
good, including copies in backups taken before and the evidence inside ledger events, which
stay in place so the ledger's proofs still verify. The customer remains as a pseudonymous id;
the erasure itself is recorded.

The key lives in the key store and the rest in the main database, so erasure takes three
steps, each a transaction of one store:

1. main database: the request is recorded on the customer (``erasure_requested_at``) and a
   global suppression keeps them out of every audience; from here nothing of theirs is read;
2. key store: the data key is destroyed;
3. main database: the ciphertexts and sharing choices go, the stub is marked erased, sessions
   end, and the erasure is recorded with its ``customer.erased`` webhook.

The webhook names the customer by the integrator's reference as well, which is read before
the key goes (step 2) and kept sealed under the vault's keys on that message and on the
customer's messages not sent yet (:func:`app.vault.references.seal_kept`). When an erasure is
finished after its key was already destroyed, the reference can no longer be read: the
message carries the pseudonymous id alone.

An interruption after step 1 leaves the request recorded: calling :func:`erase_customer` again,
or ``flask vault check --repair``, finishes it (:func:`finish_erasure`).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.accounts.models import new_alt_id
from app.customers.models import Customer
from app.errors import AssensoError
from app.models_base import utcnow
from app.outbox.models import Suppression
from app.transaction import transaction
from app.vault.keystore import destroy_key
from app.vault.models import (
    ContactPreferences,
    Erasure,
    FieldSummary,
    PreferenceChange,
    ProfileField,
    ProfileFieldHistory,
    SharingChoice,
)
from app.vault.references import seal_kept
from app.vault.service import CustomerErased
from app.webhooks.outbox import enqueue, keep_reference

log = logging.getLogger("assenso.vault")

#: Rows of the main database holding a customer's personal data, removed after their key.
SHREDDED = (
    ProfileField,
    FieldSummary,
    ProfileFieldHistory,
    SharingChoice,
    ContactPreferences,
    PreferenceChange,
)


class ErasureInterrupted(AssensoError):
    """A database failed during erasure; asking again finishes it where it stopped."""

    status = 503

    def __init__(self) -> None:
        super().__init__("The erasure could not be finished just now. Please try again.")


def erase_customer(
    session: Session, customer: Customer, *, actor: str, reason: str | None
) -> Erasure:
    """Shred the customer's data key and data, keep a pseudonymous stub and a record.

    Raises ``ErasureInterrupted`` when a database fails on the way; from the first step on,
    the request stays recorded and calling again finishes it.
    """
    if customer.erased_at is not None:
        raise CustomerErased("This customer's data was already erased.")
    customer_id = customer.id
    try:
        request_erasure(session, customer)
        return finish_erasure(session, customer_id, actor=actor, reason=reason)
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("erasure of customer %s interrupted (%s)", customer_id, type(exc).__name__)
        raise ErasureInterrupted() from None


def request_erasure(session: Session, customer: Customer) -> None:
    """Step 1: record that the customer's data is to be erased, and suppress them everywhere."""
    with transaction(session):
        if customer.erasure_requested_at is None:
            customer.erasure_requested_at = utcnow()
        # A global suppression keeps the pseudonymous stub out of every audience for good.
        session.merge(
            Suppression(
                customer_id=customer.id, channel="*", reason="global_opt_out", source="erasure"
            )
        )


def finish_erasure(
    session: Session, customer_id: int, *, actor: str, reason: str | None
) -> Erasure:
    """Steps 2 and 3 for a customer whose erasure was requested (safe to repeat)."""
    with transaction(session):
        kept = seal_kept(session, session.get_one(Customer, customer_id))
    destroy_key(session, customer_id)
    with transaction(session):
        customer = session.get_one(Customer, customer_id)
        if customer.erased_at is not None:  # finished meanwhile by another attempt
            return session.scalars(
                select(Erasure).where(Erasure.customer_ref == customer.ref)
            ).one()
        for model in SHREDDED:
            session.execute(delete(model).where(model.customer_id == customer_id))
        customer.email_index = None
        customer.reference_sealed = None
        customer.password_hash = None
        customer.email_verified = False
        customer.phone_verified = False
        customer.registration_pending = False
        customer.erased_at = utcnow()
        customer.alt_id = new_alt_id()  # ends every session
        record = Erasure(customer_ref=customer.ref, actor=actor, reason=reason)
        session.add(record)
        if kept is not None:
            keep_reference(session, customer.ref, kept)
        enqueue(session, "customer.erased", customer.ref, {}, reference_sealed=kept)
    return record
