"""The portal's transactional e-mails: double opt-in confirmations, welcome, a sign-up
attempt on an existing account, and password resets.

Links are built on ``PUBLIC_BASE_URL`` (never the request's Host header, which a caller could
forge to send a reset link pointing elsewhere). Texts are in the customer's language.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from flask import Flask, current_app
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.delivery.transactional import (
    TransactionalEmail,
    TransactionalSendFailed,
    send_transactional_email,
    send_transactional_sms,
)
from app.extensions import LANGUAGES, db
from app.self_service.tokens import reset_token
from app.settings import current_settings
from app.vault.directory import find_customer_by_email
from app.vault.service import read_own_profile

#: Background sends still running (tests wait for them; the web request never does).
_RUNNING: list[threading.Thread] = []


def portal_language(customer: Customer) -> str:
    """The customer's language if the portal speaks it, else English."""
    return customer.language if customer.language in LANGUAGES else "en"


def public_url(endpoint: str, **values: str) -> str:
    """An absolute link on the configured public base URL (works outside a request too)."""
    base = current_settings().public_base_url
    return base + current_app.url_map.bind("").build(endpoint, values)


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


def send_welcome(session: Session, customer: Customer) -> bool:
    """Tell a new customer that their account is ready (sent when no confirmation is due, so
    that every sign-up gets one e-mail); False when it could not be handed over."""
    with force_locale(portal_language(customer)):
        text = "\n\n".join(
            [
                gettext("Welcome to Assenso: your account is ready."),
                gettext("Sign in to see what we hold and choose how we may contact you:"),
                public_url("auth.customer_login"),
                gettext(
                    "If you did not create this account, choose a new password from this "
                    "page and then delete the account:"
                ),
                public_url("auth.forgot_password"),
            ]
        )
        return _send_now(session, customer, gettext("Your Assenso account"), text, "welcome")


def send_signup_attempt_notice(session: Session, customer: Customer) -> bool:
    """Tell an account's owner that someone tried to sign up again with their address."""
    with force_locale(portal_language(customer)):
        text = "\n\n".join(
            [
                gettext(
                    "Someone tried to create an Assenso account with this e-mail address, "
                    "which already has one. Nothing was changed."
                ),
                gettext("If it was you, sign in here:"),
                public_url("auth.customer_login"),
                gettext("Forgot your password? Choose a new one here:"),
                public_url("auth.forgot_password"),
                gettext("If it was not you, ignore this message."),
            ]
        )
        subject = gettext("Your Assenso account already exists")
        return _send_now(session, customer, subject, text, "signup_existing")


def _send_now(session: Session, customer: Customer, subject: str, text: str, key: str) -> bool:
    """Send one e-mail to the customer's address now; False when it could not be handed over."""
    recipient = read_own_profile(session, customer).get("email")
    if not recipient:
        return False
    try:
        send_transactional_email(
            session, customer.id, TransactionalEmail(recipient, subject, text + "\n", key)
        )
    except TransactionalSendFailed:
        current_app.logger.warning("%s e-mail could not be sent", key)
        return False
    return True


def send_password_reset_later(email: str) -> None:
    """Look ``email`` up and send it a reset link, in the background: the request answers at
    once, in the same time whether or not the address has an account."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    thread = threading.Thread(target=_reset_later, args=(app, email), daemon=True)
    _RUNNING.append(thread)
    thread.start()


def _reset_later(app: Flask, address: str) -> None:
    """Send the reset link when ``address`` has an account with a password (in the background)."""
    with app.app_context():
        try:
            customer = find_customer_by_email(db.session(), address)
            if customer is None or not customer.password_hash:
                return
            recipient = read_own_profile(db.session(), customer).get("email")
            if recipient:
                email = _reset_email(customer, recipient, reset_token(customer))
                send_transactional_email(db.session(), customer.id, email, app)
        except TransactionalSendFailed:
            app.logger.warning("password reset e-mail could not be sent")
        finally:
            db.session.remove()


def _reset_email(customer: Customer, recipient: str, token: str) -> TransactionalEmail:
    """The reset message in the customer's language."""
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
        return TransactionalEmail(
            recipient, gettext("Reset your password"), text + "\n", "password_reset"
        )


def wait_for_background_mail(timeout: float = 10.0) -> None:
    """Wait for background sends to finish (tests and orderly shutdown)."""
    while _RUNNING:
        _RUNNING.pop().join(timeout)
