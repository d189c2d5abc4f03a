"""Double opt-in links: the signed token that names a pending consent, and reading it back."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import signed_tokens
from app.errors import InvalidInput

#: How long a confirmation link stays valid.
DOUBLE_OPT_IN_HOURS = 72
_DOI_SALT = "assenso.double-opt-in"  # links issued before the d1 format
_DOI_PREFIX = "d1."
_DOI_KEY_LABEL = b"assenso.double-opt-in.v2"


def double_opt_in_token(record_id: str) -> str:
    """A signed token naming the pending event (no personal data inside): a ``d1.`` token of
    :mod:`app.signed_tokens`."""
    return signed_tokens.make(_DOI_PREFIX, _DOI_KEY_LABEL, [record_id])


def pending_record_id(token: str) -> str:
    """The pending event's record id an authentic, unexpired link names."""
    max_age = DOUBLE_OPT_IN_HOURS * 3600
    expired = InvalidInput("This confirmation link has expired. Please ask again.")
    invalid = InvalidInput("This confirmation link is not valid.")
    if token.startswith(_DOI_PREFIX):
        try:
            (record_id,) = signed_tokens.read(_DOI_PREFIX, _DOI_KEY_LABEL, token, 1, max_age)
        except signed_tokens.Expired:
            raise expired from None
        except signed_tokens.Invalid:
            raise invalid from None
        return str(record_id)
    try:
        payload = _previous_signer(current_app.config["SECRET_KEY"]).loads(token, max_age=max_age)
    except SignatureExpired:
        raise expired from None
    except BadSignature:
        raise invalid from None
    if not isinstance(payload, dict):
        raise invalid
    return str(payload.get("r"))


@lru_cache(maxsize=8)
def _previous_signer(secret_key: str) -> URLSafeTimedSerializer:
    """The signer of links issued before the ``d1.`` format (still honoured until expiry)."""
    return URLSafeTimedSerializer(secret_key, salt=_DOI_SALT)
