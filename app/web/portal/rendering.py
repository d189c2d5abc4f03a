"""Shared helpers of the portal views: rendering in the right language, evidence, errors."""

from __future__ import annotations

from flask import flash, g, render_template, request, session
from flask_babel import get_locale, gettext
from flask_login import current_user

from app.errors import AssensoError
from app.extensions import LANGUAGES
from app.ledger.consent import Evidence
from app.web.signed_in import signed_in_account


def remember_customer_language() -> None:
    """Signed-in customers see the portal in their own language until they pick another."""
    if "lang" in session or not getattr(current_user, "is_authenticated", False):
        return
    language = getattr(current_user, "language", None)
    if language in LANGUAGES:
        session["lang"] = language


def current_language() -> str:
    """The language this request is shown in."""
    return str(get_locale() or "en")


def render(template: str, status: int = 200, **context):
    """Render a portal page with ``<html lang>`` matching the language it is shown in."""
    g.lang = current_language()
    return render_template(template, **context), status


def evidence() -> Evidence:
    """How this request reached us (sealed under the customer's key in the ledger)."""
    return Evidence(ip_address=request.remote_addr, user_agent=request.user_agent.string)


def flash_problem(exc: AssensoError) -> int:
    """Show a domain error (its message never holds personal data); returns its status."""
    flash(gettext(str(exc)), "error")
    return exc.status


def customer():
    """The signed-in customer (the real object, not Flask-Login's proxy)."""
    return signed_in_account()
