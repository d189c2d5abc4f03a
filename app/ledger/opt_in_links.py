"""Double opt-in links: the signed token that names a pending consent, and reading it back."""

from __future__ import annotations

from app import signed_links
from app.errors import InvalidInput

#: How long a confirmation link stays valid.
DOUBLE_OPT_IN_HOURS = 72


def double_opt_in_token(record_id: str) -> str:
    """A signed link naming the pending event (no personal data inside)."""
    return signed_links.sign(signed_links.DOUBLE_OPT_IN, record_id)


def pending_record_id(token: str) -> str:
    """The pending event's record id an authentic, unexpired link names."""
    try:
        record_id = signed_links.read(signed_links.DOUBLE_OPT_IN, token, DOUBLE_OPT_IN_HOURS * 3600)
    except signed_links.Expired:
        raise InvalidInput("This confirmation link has expired. Please ask again.") from None
    except signed_links.Invalid:
        raise InvalidInput("This confirmation link is not valid.") from None
    if not isinstance(record_id, str):
        raise InvalidInput("This confirmation link is not valid.")
    return record_id
