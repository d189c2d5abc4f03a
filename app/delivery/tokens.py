"""Signed links in messages: unsubscribe (customer ref + purpose + channel) and offer links
(the outbox entry's id), no personal data.

An unsubscribe link is valid for ``ASSENSO_UNSUBSCRIBE_TOKEN_DAYS`` days (long: people
unsubscribe from old messages); every campaign message carries one (:mod:`app.signed_links`).
An offer link (``{{ offer_url }}`` in a template) is valid for :data:`OFFER_LINK_DAYS` days.
"""

from __future__ import annotations

from dataclasses import dataclass

from app import signed_links
from app.errors import InvalidInput
from app.settings import current_settings

OFFER_LINK_DAYS = 90


class InvalidOfferToken(InvalidInput):
    """The offer link is malformed, tampered with or too old."""


def offer_token(entry_id: int) -> str:
    """A signed token naming the outbox entry whose offer the link answers."""
    return signed_links.sign(signed_links.OFFER_RESPONSE, entry_id)


def read_offer_token(token: str) -> int:
    """The outbox entry id a token names; raises :class:`InvalidOfferToken` (a clear 400)."""
    try:
        value = signed_links.read(signed_links.OFFER_RESPONSE, token, OFFER_LINK_DAYS * 86400)
    except signed_links.Expired:
        raise InvalidOfferToken("This offer link has expired.") from None
    except signed_links.Invalid:
        raise InvalidOfferToken("This offer link is not valid.") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise InvalidOfferToken("This offer link is not valid.")
    return value


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
