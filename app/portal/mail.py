"""The portal's transactional e-mails: double opt-in confirmations and password resets.

Links are built on ``PUBLIC_BASE_URL`` (never the request's Host header, which a caller could
forge to send a reset link pointing elsewhere). Texts are in the customer's language.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from flask import Flask, current_app, url_for
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from app.delivery.transactional import (
    TransactionalEmail,
    TransactionalSendFailed,
    send_transactional_email,
    send_transactional_sms,
)
from app.vault.models import Customer
from app.vault.service import read_own_profile

#: Background sends still running (tests wait for them; the web request never does).
_RUNNING: list[threading.Thread] = []


def portal_language(customer: Customer) -> str:
    """The customer's language if the portal speaks it, else English."""
    return customer.language if customer.language in current_app.config["LANGUAGES"] else "en"


def public_url(endpoint: str, **values: str) -> str:
    """An absolute link on the configured public base URL."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for(endpoint, **values)


def send_confirmations(
    session: Session, customer: Customer, pending: Iterable[tuple[str, str, str]]
) -> bool:
    """Send one confirmation per channel for pending consents ``(purpose label, channel, token)``.

    Returns False when a message could not be handed over (the consent stays pending and the
    customer can ask again from the contact page).
    """
    by_channel: dict[str, list[tuple[str, str]]] = {}
    for label, channel, token in pending:
        link = public_url("auth.confirm_consent", token=token)
        by_channel.setdefault(channel, []).append((label, link))
    if not by_channel:
        return True
    profile = read_own_profile(session, customer)
    sent = True
    with force_locale(portal_language(customer)):
        for channel, links in by_channel.items():
            try:
                _send_confirmation(session, customer, profile, channel, links)
            except TransactionalSendFailed:
                current_app.logger.warning("confirmation over %s could not be sent", channel)
                sent = False
    return sent


def _send_confirmation(
    session: Session, customer: Customer, profile: dict, channel: str, links: list
) -> None:
    lines = [f"- {label}: {link}" for label, link in links]
    if channel == "sms":
        if "phone" not in profile:
            raise TransactionalSendFailed("no mobile number held")
        text = gettext("Assenso: confirm your consent to text messages.") + "\n" + "\n".join(lines)
        send_transactional_sms(session, customer.id, profile["phone"], text)
        return
    text = "\n\n".join(
        [
            gettext("Please confirm that you want to receive these messages by e-mail:"),
            "\n".join(lines),
            gettext(
                "Each link works for 72 hours. If you did not ask for this, ignore this "
                "message: nothing will be sent to you."
            ),
        ]
    )
    subject = gettext("Please confirm your consent")
    email = TransactionalEmail(profile["email"], subject, text + "\n", "double_opt_in")
    send_transactional_email(session, customer.id, email)


def send_password_reset(customer: Customer, recipient: str, token: str) -> None:
    """Send the reset link in the background, so the answer takes as long with or without one."""
    with force_locale(portal_language(customer)):
        link = public_url("auth.reset_password_page", token=token)
        text = "\n\n".join(
            [
                gettext("Someone asked to reset the password of your Assenso account."),
                gettext("To choose a new password, open this link within one hour:"),
                link,
                gettext("If it was not you, ignore this message; your password stays the same."),
            ]
        )
        email = TransactionalEmail(
            recipient, gettext("Reset your password"), text + "\n", "password_reset"
        )
    app = current_app._get_current_object()
    thread = threading.Thread(target=_send_later, args=(app, customer.id, email), daemon=True)
    _RUNNING.append(thread)
    thread.start()


def _send_later(app: Flask, customer_id: int, email: TransactionalEmail) -> None:
    from app.extensions import db

    with app.app_context():
        try:
            send_transactional_email(db.session, customer_id, email, app)
        except TransactionalSendFailed:
            app.logger.warning("password reset e-mail could not be sent")
        finally:
            db.session.remove()


def wait_for_background_mail(timeout: float = 10.0) -> None:
    """Wait for background sends to finish (tests and orderly shutdown)."""
    while _RUNNING:
        _RUNNING.pop().join(timeout)
