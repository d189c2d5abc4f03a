"""Signed, expiring password-reset tokens bound to the current password hash (single use)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import signed_links
from app.customers.models import Customer
from app.errors import InvalidInput

RESET_MAX_AGE_SECONDS = 60 * 60


class InvalidResetLink(InvalidInput):
    """The reset link is malformed, expired, or was already used."""


def _hash_binding(password_hash: str | None) -> str:
    """A short digest of the stored hash: changing the password invalidates every link."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:24]


def reset_token(customer: Customer) -> str:
    """A signed token naming the customer (pseudonymous ref) and their current hash."""
    binding = _hash_binding(customer.password_hash)
    return signed_links.sign(signed_links.PASSWORD_RESET, [customer.ref, binding])


def customer_for_reset(session: Session, token: str) -> Customer:
    """The customer a still-valid, unused token names; raises :class:`InvalidResetLink`."""
    invalid = InvalidResetLink("This reset link is not valid, has expired or was already used.")
    try:
        values = signed_links.read(signed_links.PASSWORD_RESET, token, RESET_MAX_AGE_SECONDS)
    except (signed_links.Invalid, signed_links.Expired):
        raise invalid from None
    if not (isinstance(values, list) and len(values) == 2 and isinstance(values[0], str)):
        raise invalid
    ref, binding = values
    customer = session.scalar(select(Customer).where(Customer.ref == ref))
    if customer is None or not customer.is_active or not customer.password_hash:
        raise invalid
    if binding != _hash_binding(customer.password_hash):
        raise invalid
    return customer
