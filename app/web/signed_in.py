"""Flask-Login's view of a signed-in account: the only place that knows the protocol.

The domain's accounts (:class:`app.accounts.models.StaffUser`,
:class:`app.customers.models.Customer`) know nothing of the web. :class:`SignedIn` wraps the
account the server-side session names (:mod:`app.web.auth_session`); templates and views read
the account's attributes through it (``current_user.role``, ``current_user.display_name``),
and :func:`signed_in_account` hands services the account itself.
"""

from __future__ import annotations

from typing import Any

from flask_login import UserMixin, current_user

from app.accounts.models import StaffUser
from app.customers.models import Customer

Account = StaffUser | Customer


class SignedIn(UserMixin):
    """A signed-in staff user or customer as Flask-Login expects it."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        """The session's id: ``kind:alt_id``, the rotatable id, never the primary key."""
        return f"{self.account.kind}:{self.account.alt_id}"

    @property
    def is_active(self) -> bool:
        """Disabled staff, erased customers and unfinished sign-ups cannot sign in."""
        return self.account.is_active

    def __getattr__(self, name: str) -> Any:
        """Everything else (``role``, ``kind``, ``id``, ``language``, ...) is the account's."""
        if name == "account":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.account, name)


def signed_in_account() -> Account:
    """The account signed in on this request (the route's access rule guarantees one)."""
    return current_user._get_current_object().account
