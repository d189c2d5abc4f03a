"""Signing a browser in and out, and finding who is signed in on each request.

The signed cookie holds the account's rotatable id (``kind:alt_id``, for Flask-Login) and the
id of a server-side session (:mod:`app.accounts.sessions`). Every request that asks who is
signed in checks that session in the database, so signing out, an idle timeout or a password
change ends the session for every web process at once, and a copied cookie opens nothing
afterwards. Nothing depends on the client's address (forwarded headers can be forged).
"""

from __future__ import annotations

from datetime import timedelta

from flask import session
from flask_login import login_user, logout_user

from app.accounts import sessions
from app.accounts.models import StaffUser
from app.customers.models import Customer
from app.extensions import db
from app.settings import current_settings
from app.web.signed_in import SignedIn

_KINDS = {"staff": StaffUser, "customer": Customer}
#: The cookie entry naming the server-side session.
SESSION_KEY = "sid"
#: Cookie entries that outlive signing in and out (the chosen language).
KEPT_ON_SIGN_IN = ("lang",)


def session_limits(kind: str) -> sessions.SessionLimits:
    """The idle timeout and lifetime configured for sessions of ``kind`` (staff or customer)."""
    settings = current_settings()
    idle, hours = (
        (settings.staff_session_idle_minutes, settings.staff_session_hours)
        if kind == "staff"
        else (settings.customer_session_idle_minutes, settings.customer_session_hours)
    )
    return sessions.SessionLimits(idle=timedelta(minutes=idle), lifetime=timedelta(hours=hours))


def load_user(user_id: str) -> SignedIn | None:
    """Flask-Login user loader: the account whose open server-side session this cookie names."""
    kind, _, alt_id = user_id.partition(":")
    model = _KINDS.get(kind)
    token = session.get(SESSION_KEY)
    if model is None or not alt_id or not isinstance(token, str):
        return None
    account = sessions.signed_in_account(db.session(), model, alt_id, token, session_limits(kind))
    return SignedIn(account) if account is not None else None


def _fresh_cookie() -> None:
    """Empty the cookie but for the entries kept across signing in and out."""
    kept = {name: session[name] for name in KEPT_ON_SIGN_IN if name in session}
    session.clear()
    session.update(kept)


def start_session(account) -> None:
    """Sign ``account`` in on this browser with a new server-side session.

    The cookie starts afresh, so an id planted before sign-in is worthless (session fixation).
    """
    _fresh_cookie()
    session[SESSION_KEY] = sessions.open_session(
        db.session(), account.kind, account.id, session_limits(account.kind)
    )
    login_user(SignedIn(account))


def end_session() -> None:
    """Sign this browser out: its server-side session ends and the cookie is emptied."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        sessions.end_session(db.session(), token, "signed out")
    logout_user()
    _fresh_cookie()
