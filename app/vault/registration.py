"""Sign-up across the two stores: the customer and their encrypted profile, and their data key.

The customer's rows live in the main database, their wrapped data key in the key store, and no
transaction spans both. Sign-up therefore writes in an order where any interruption leaves a
state that is finished or undone, never a customer without a key or a key without a customer:

1. main database: the customer, marked ``registration_pending``, with their encrypted profile;
2. key store: their wrapped data key;
3. main database: the mark is cleared; only now can the customer sign in or be read.

When a step fails the sign-up undoes itself (its key, then its customer). Whatever fails while
undoing leaves a pending customer, which the next sign-up with the same address undoes
(:func:`undo_registration`: the customer first, then the key), and so does
``flask vault check --repair``. A sign-up whose pending customer was undone meanwhile by such a
retry removes its own key and reports a conflict.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import AssensoError, Conflict
from app.models_base import rows_changed
from app.runtime import Runtime, runtime
from app.transaction import transaction
from app.vault import stores
from app.vault.blind_index import blind_index, blind_index_candidates
from app.vault.envelope import FieldCipher, WrappedKey, new_data_key, wrap_data_key
from app.vault.keystore import destroy_key, store_key, wrapped_keys
from app.vault.models import ProfileField
from app.vault.references import REFERENCE_FIELD

log = logging.getLogger("assenso.vault")


class SignUpInterrupted(AssensoError):
    """A database failed during sign-up; what was written has been (or will be) undone."""

    status = 503

    def __init__(self) -> None:
        super().__init__("Your account could not be created just now. Please try again.")


def create_customer(
    session: Session,
    clean: Mapping[str, str],
    settings: Mapping[str, object],
    reference: str | None = None,
) -> Customer:
    """Create a customer from a validated profile ``clean`` and ``settings`` (the customer's
    columns: password hash, jurisdiction, time zone, language, attested age), with an
    integrator's ``reference`` sealed like the profile, in the three steps above. Raises
    ``Conflict`` for an address already in use and ``SignUpInterrupted`` when a database fails
    on the way."""
    stores.require_checked()
    keys = runtime()
    written: tuple[int, WrappedKey] | None = None
    try:
        _undo_unfinished(session, keys, clean["email"])
        written = _write_pending(session, keys, clean, settings, reference)
        store_key(session, *written)
        finished = _finish(session, written[0])
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("a sign-up was interrupted (%s)", type(exc).__name__)
        if written is None or not _abandon(session, *written):
            raise SignUpInterrupted() from None
        finished = True  # the last commit had gone through after all
    if not finished:  # a retry with the same address undid this one meanwhile
        destroy_key(session, written[0], written[1].blob)
        raise Conflict("An account with this e-mail address is being created. Please try again.")
    return session.get_one(Customer, written[0])


def _write_pending(
    session: Session,
    keys: Runtime,
    clean: Mapping[str, str],
    settings: Mapping[str, object],
    reference: str | None,
) -> tuple[int, WrappedKey]:
    """Step 1: the pending customer and their encrypted profile; returns id and wrapped key."""
    dek = new_data_key()
    with transaction(session):
        candidates = blind_index_candidates(keys.blind_index_keys, clean["email"])
        if session.scalar(select(Customer.id).where(Customer.email_index.in_(candidates))):
            raise Conflict("An account with this e-mail address already exists.")
        customer = Customer(
            email_index=blind_index(keys.blind_index_keys, clean["email"]),
            registration_pending=True,
            **settings,
        )
        session.add(customer)
        session.flush()
        customer_id, ref = customer.id, customer.ref
        cipher = FieldCipher(dek, ref)
        if reference is not None:
            customer.reference_sealed = cipher.encrypt(REFERENCE_FIELD, reference)
        for name, value in clean.items():
            session.add(
                ProfileField(
                    customer_id=customer_id, field=name, ciphertext=cipher.encrypt(name, value)
                )
            )
    return customer_id, wrap_data_key(keys.vault_keys, ref, dek)


def _finish(session: Session, customer_id: int) -> bool:
    """Step 3: clear the mark; False when the pending customer is no longer there."""
    with transaction(session):
        done = rows_changed(
            session,
            update(Customer)
            .where(Customer.id == customer_id, Customer.registration_pending.is_(True))
            .values(registration_pending=False)
            .execution_options(synchronize_session=False),
        )
    return done == 1


def _undo_unfinished(session: Session, keys: Runtime, email: str) -> None:
    """Undo an earlier sign-up with this address that never finished (the next attempt)."""
    candidates = blind_index_candidates(keys.blind_index_keys, email)
    with transaction(session):  # ended here: each write below is a transaction of one store
        stale = session.scalars(
            select(Customer.id).where(
                Customer.email_index.in_(candidates), Customer.registration_pending.is_(True)
            )
        ).all()
    for customer_id in stale:
        undo_registration(session, customer_id)


def undo_registration(session: Session, customer_id: int) -> bool:
    """Remove an unfinished sign-up: the pending customer (and profile), then their key.

    The key is removed only when the customer is gone, and only the key read before: a key
    written later for the same id (SQLite may give it to the next sign-up) is never touched.
    Returns whether a pending customer was removed.
    """
    with transaction(session):
        wrapped = wrapped_keys(session, [customer_id]).get(customer_id)
    with transaction(session):
        removed = rows_changed(session, _delete_pending(customer_id))
        present = session.scalar(select(Customer.id).where(Customer.id == customer_id))
    if wrapped is not None and present is None:
        destroy_key(session, customer_id, wrapped.blob)
    return bool(removed)


def _abandon(session: Session, customer_id: int, wrapped: WrappedKey) -> bool:
    """Undo this process's own interrupted sign-up, key first; True when it had finished.

    Only this sign-up ever finishes its customer, so once it has stopped the key can go before
    the customer: whichever of the two writes fails, a pending customer remains for the next
    attempt to undo. When the databases cannot be reached it all stays for that attempt.
    """
    try:
        with transaction(session):
            pending = session.scalar(
                select(Customer.registration_pending).where(Customer.id == customer_id)
            )
        if pending is False:
            return True
        destroy_key(session, customer_id, wrapped.blob)
        if pending:
            with transaction(session):
                session.execute(_delete_pending(customer_id))
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning(
            "an interrupted sign-up stays pending (%s); the next attempt with its address or "
            "`flask vault check --repair` undoes it",
            type(exc).__name__,
        )
    return False


def _delete_pending(customer_id: int):
    """Delete the customer ``customer_id`` if still pending (their profile goes with them)."""
    return (
        delete(Customer)
        .where(Customer.id == customer_id, Customer.registration_pending.is_(True))
        .execution_options(synchronize_session=False)
    )
