"""Signed, expiring password-reset tokens bound to the current password hash (single use)."""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.vault.models import Customer

RESET_SALT = "assenso.portal.password-reset.v1"
RESET_MAX_AGE_SECONDS = 60 * 60


class InvalidResetLink(InvalidInput):
    """The reset link is malformed, expired, or was already used."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _hash_binding(password_hash: str | None) -> str:
    """A short digest of the stored hash: changing the password invalidates every link."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:24]


def reset_token(customer: Customer) -> str:
    """A signed token naming the customer (pseudonymous ref) and their current hash."""
    return _serializer().dumps({"c": customer.ref, "p": _hash_binding(customer.password_hash)})


def customer_for_reset(session: Session, token: str) -> Customer:
    """The customer a still-valid, unused token names; raises :class:`InvalidResetLink`."""
    invalid = InvalidResetLink("This reset link is not valid, has expired or was already used.")
    try:
        payload = _serializer().loads(token, max_age=RESET_MAX_AGE_SECONDS)
    except SignatureExpired:
        raise invalid from None
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
        raise invalid
    customer = session.scalar(select(Customer).where(Customer.ref == payload["c"]))
    if customer is None or not customer.is_active or not customer.password_hash:
        raise invalid
    if payload.get("p") != _hash_binding(customer.password_hash):
        raise invalid
    return customer
