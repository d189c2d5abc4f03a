"""Signed unsubscribe links: customer ref + purpose + channel, no personal data.

A link is valid for ``ASSENSO_UNSUBSCRIBE_TOKEN_DAYS`` days (long: people unsubscribe from old
messages). Every campaign message carries one (:mod:`app.signed_links`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app import signed_links
from app.errors import InvalidInput
from app.settings import current_settings


class InvalidUnsubscribeToken(InvalidInput):
    """The link is malformed, tampered with or too old."""


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    """What a token names: whose consent, for which purpose, on which channel."""

    customer_ref: str
    purpose: str
    channel: str


def unsubscribe_token(customer_ref: str, purpose: str, channel: str) -> str:
    """A signed token for one-click unsubscribe from ``purpose`` on ``channel``."""
    return signed_links.sign(signed_links.UNSUBSCRIBE, [customer_ref, purpose, channel])


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """The request a token names; raises :class:`InvalidUnsubscribeToken` (a clear 400)."""
    max_age = current_settings().unsubscribe_token_days * 86400
    try:
        values = signed_links.read(signed_links.UNSUBSCRIBE, token, max_age)
    except signed_links.Expired:
        raise InvalidUnsubscribeToken("This unsubscribe link has expired.") from None
    except signed_links.Invalid:
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.") from None
    if not (
        isinstance(values, list)
        and len(values) == 3
        and all(isinstance(part, str) and part for part in values)
    ):
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    return UnsubscribeRequest(*values)
