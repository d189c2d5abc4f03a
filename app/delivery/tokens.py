"""Signed unsubscribe tokens: customer ref + purpose + channel, no personal data.

Signed with the app's ``SECRET_KEY`` and a salt of their own (itsdangerous), valid for
``UNSUBSCRIBE_TOKEN_DAYS`` days (long: people unsubscribe from old messages).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.delivery.settings import number
from app.errors import InvalidInput

_SALT = "assenso.unsubscribe.v1"


class InvalidUnsubscribeToken(InvalidInput):
    """The link is malformed, tampered with or too old."""


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    """What a token names: whose consent, for which purpose, on which channel."""

    customer_ref: str
    purpose: str
    channel: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(customer_ref: str, purpose: str, channel: str) -> str:
    """A signed token for one-click unsubscribe from ``purpose`` on ``channel``."""
    return _serializer().dumps([customer_ref, purpose, channel])


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """The request a token names; raises :class:`InvalidUnsubscribeToken` (a clear 400)."""
    max_age = number(current_app, "UNSUBSCRIBE_TOKEN_DAYS") * 86400
    try:
        ref, purpose, channel = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidUnsubscribeToken("This unsubscribe link has expired.") from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.") from None
    if not all(isinstance(part, str) and part for part in (ref, purpose, channel)):
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    return UnsubscribeRequest(ref, purpose, channel)
