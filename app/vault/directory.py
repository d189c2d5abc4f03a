"""Finding customers by e-mail address through the blind index (no plaintext column)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.passwords import hash_password, needs_rehash, verify_password
from app.customers.models import Customer
from app.runtime import runtime
from app.transaction import transaction
from app.vault.blind_index import blind_index, blind_index_candidates


def email_index(email: str) -> str:
    """The blind index of ``email`` under the active index key."""
    return blind_index(runtime().blind_index_keys, email)


def find_customer_by_email(session: Session, email: str) -> Customer | None:
    """The customer holding ``email``, or ``None``; malformed addresses find no one, and
    neither do erased customers nor sign-ups that have not finished."""
    try:
        candidates = blind_index_candidates(runtime().blind_index_keys, email)
    except ValueError:
        return None
    return session.scalar(
        select(Customer).where(
            Customer.email_index.in_(candidates),
            Customer.erased_at.is_(None),
            Customer.registration_pending.is_(False),
        )
    )


def authenticate_customer(session: Session, email: str, password: str) -> Customer | None:
    """The customer with these credentials, or ``None`` (same work either way)."""
    customer = find_customer_by_email(session, email)
    if not verify_password(customer.password_hash if customer else None, password):
        return None
    if customer is None or not customer.is_active:
        return None
    if customer.password_hash and needs_rehash(customer.password_hash):
        with transaction(session):
            customer.password_hash = hash_password(password)
    return customer
