"""Signed unsubscribe tokens: customer ref + purpose + channel, no personal data.

A token is ``u2.<payload>.<tag>`` (:mod:`app.signed_tokens`) carrying
``[customer_ref, purpose, channel, issued_at]``, tagged under a key derived from the app's
``SECRET_KEY`` for unsubscribe links alone. Tokens are valid for ``UNSUBSCRIBE_TOKEN_DAYS``
days (long: people unsubscribe from old messages). Every campaign message carries one, so
making one must be cheap (a few microseconds; the generic itsdangerous serializer cost about
60 µs).

Links from messages sent before this format (itsdangerous, salt ``assenso.unsubscribe.v1``)
are still honoured until they expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import signed_tokens
from app.delivery.settings import number
from app.errors import InvalidInput

_SALT = "assenso.unsubscribe.v1"
_PREFIX = "u2."
_KEY_LABEL = b"assenso.unsubscribe.v2"


class InvalidUnsubscribeToken(InvalidInput):
    """The link is malformed, tampered with or too old."""


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    """What a token names: whose consent, for which purpose, on which channel."""

    customer_ref: str
    purpose: str
    channel: str


def unsubscribe_token(
    customer_ref: str, purpose: str, channel: str, issued_at: int | None = None
) -> str:
    """A signed token for one-click unsubscribe from ``purpose`` on ``channel``."""
    return signed_tokens.make(_PREFIX, _KEY_LABEL, [customer_ref, purpose, channel], issued_at)


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """The request a token names; raises :class:`InvalidUnsubscribeToken` (a clear 400)."""
    max_age = number(current_app, "UNSUBSCRIBE_TOKEN_DAYS") * 86400
    if token.startswith(_PREFIX):
        try:
            ref, purpose, channel = signed_tokens.read(_PREFIX, _KEY_LABEL, token, 3, max_age)
        except signed_tokens.Expired:
            raise InvalidUnsubscribeToken("This unsubscribe link has expired.") from None
        except signed_tokens.Invalid:
            raise InvalidUnsubscribeToken("This unsubscribe link is not valid.") from None
    else:
        ref, purpose, channel = _read_previous(token, max_age)
    if not all(isinstance(part, str) and part for part in (ref, purpose, channel)):
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    return UnsubscribeRequest(ref, purpose, channel)


@lru_cache(maxsize=8)
def _previous_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def _read_previous(token: str, max_age: int) -> tuple:
    """A token of the previous (itsdangerous) format, from messages sent before ``u2``."""
    try:
        values = _previous_serializer(current_app.config["SECRET_KEY"]).loads(
            token, max_age=max_age
        )
        ref, purpose, channel = values
    except SignatureExpired:
        raise InvalidUnsubscribeToken("This unsubscribe link has expired.") from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.") from None
    return ref, purpose, channel
