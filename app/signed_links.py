"""Signed links: the values a link names, signed with itsdangerous under the app's secret.

A token is the base64url of the values' compact JSON, signed with its issue time by
itsdangerous' ``TimestampSigner`` (HMAC-SHA256 under a key derived from ``ASSENSO_SECRET_KEY``
and the link's salt). Each kind of link has its own salt, so a link of one kind never passes
as another. :func:`read` refuses a link older than its kind allows, and one dated more than a
few minutes ahead (machines that issue links may run a little ahead of the web server's clock).

Links go out with every campaign message, so the signer of each kind is built once per key.
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import lru_cache
from typing import Any

from itsdangerous import BadData, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode

from app.settings import current_settings

#: One salt per kind of link.
DOUBLE_OPT_IN = "assenso.double-opt-in"
UNSUBSCRIBE = "assenso.unsubscribe"
PASSWORD_RESET = "assenso.password-reset"  # noqa: S105 (a salt, not a password)
OFFER_RESPONSE = "assenso.offer-response"
DATA_EXPORT = "assenso.data-export"
REQUEST_CONFIRMATION = "assenso.request-confirmation"

CLOCK_SKEW_S = 300
#: Compact JSON; built once (``json.dumps`` with options builds an encoder per call).
_JSON = json.JSONEncoder(separators=(",", ":"))


class Invalid(ValueError):
    """The token is malformed, of another kind, or its signature does not match."""


class Expired(ValueError):
    """The token is authentic but older than its kind allows."""


@lru_cache(maxsize=16)
def _signer(secret_key: str, salt: str) -> TimestampSigner:
    return TimestampSigner(secret_key, salt=salt, digest_method=hashlib.sha256)


def sign(kind: str, values: Any) -> str:
    """A token of ``kind`` carrying ``values`` (JSON-serialisable) and the time now."""
    payload = base64_encode(_JSON.encode(values))
    return _signer(current_settings().secret_key, kind).sign(payload).decode("ascii")


def read(kind: str, token: str, max_age_s: float) -> Any:
    """The values of an authentic ``kind`` token no older than ``max_age_s``.

    Raises :class:`Invalid` or :class:`Expired`.
    """
    signer = _signer(current_settings().secret_key, kind)
    try:
        payload, signed_at = signer.unsign(token, return_timestamp=True)
        values = json.loads(base64_decode(payload))
    except (BadData, ValueError):
        raise Invalid(token) from None
    age = time.time() - signed_at.timestamp()
    if age < -CLOCK_SKEW_S:
        raise Invalid(token)
    if age > max_age_s:
        raise Expired(token)
    return values
