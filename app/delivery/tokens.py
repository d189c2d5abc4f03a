"""Signed unsubscribe tokens: customer ref + purpose + channel, no personal data.

A token is ``u2.<payload>.<tag>``: the payload is the base64url JSON
``[customer_ref, purpose, channel, issued_at]`` (seconds), the tag the base64url
HMAC-SHA256 of ``u2.<payload>`` under a key derived from the app's ``SECRET_KEY`` for this
use alone. Tokens are valid for ``UNSUBSCRIBE_TOKEN_DAYS`` days (long: people unsubscribe from
old messages). Every campaign message carries one, so making one must be cheap (a few
microseconds; the generic itsdangerous serializer cost about 60 µs).

Links from messages sent before this format (itsdangerous, salt ``assenso.unsubscribe.v1``)
are still honoured until they expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.delivery.settings import number
from app.errors import InvalidInput

_SALT = "assenso.unsubscribe.v1"
_PREFIX = "u2."
_KEY_LABEL = b"assenso.unsubscribe.v2"
_CLOCK_SKEW = 300  # seconds a sending machine's clock may run ahead of the web server's


class InvalidUnsubscribeToken(InvalidInput):
    """The link is malformed, tampered with or too old."""


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    """What a token names: whose consent, for which purpose, on which channel."""

    customer_ref: str
    purpose: str
    channel: str


@lru_cache(maxsize=8)
def _key(secret_key: str) -> bytes:
    """The tag key: the secret key, narrowed to unsubscribe tokens (never used elsewhere)."""
    return hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest())


def unsubscribe_token(
    customer_ref: str, purpose: str, channel: str, issued_at: int | None = None
) -> str:
    """A signed token for one-click unsubscribe from ``purpose`` on ``channel``."""
    issued = int(time.time()) if issued_at is None else issued_at
    payload = json.dumps([customer_ref, purpose, channel, issued], separators=(",", ":"))
    signed = _PREFIX + _b64(payload.encode())
    return f"{signed}.{_tag(_key(current_app.config['SECRET_KEY']), signed)}"


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """The request a token names; raises :class:`InvalidUnsubscribeToken` (a clear 400)."""
    max_age = number(current_app, "UNSUBSCRIBE_TOKEN_DAYS") * 86400
    if token.startswith(_PREFIX):
        ref, purpose, channel, issued = _read_current(token)
        age = time.time() - issued
        if age > max_age:
            raise InvalidUnsubscribeToken("This unsubscribe link has expired.")
        if age < -_CLOCK_SKEW:
            raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    else:
        ref, purpose, channel = _read_previous(token, max_age)
    if not all(isinstance(part, str) and part for part in (ref, purpose, channel)):
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    return UnsubscribeRequest(ref, purpose, channel)


def _read_current(token: str) -> tuple:
    invalid = InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    signed, _, tag = token.rpartition(".")
    if not tag.isascii() or not signed.isascii():
        raise invalid
    expected = _tag(_key(current_app.config["SECRET_KEY"]), signed)
    if not hmac.compare_digest(expected, tag):
        raise invalid
    try:
        values = json.loads(_unb64(signed.removeprefix(_PREFIX)))
    except (ValueError, binascii.Error):
        raise invalid from None
    if not (isinstance(values, list) and len(values) == 4 and type(values[3]) is int):
        raise invalid
    return tuple(values)


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
