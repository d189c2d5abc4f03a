"""Relationship messages (double opt-in confirmations, password resets), sent at once.

Campaign messages go through the outbox and the worker; a relationship (transactional)
message answers a request the customer just made, so it is handed to the SMTP relay (or SMS
gateway) right away through the channels' own senders, and recorded in the send log as
``transactional`` under the ``service`` purpose (lawful basis: contract). Its text is one of
the fixed texts of :data:`RELATIONSHIP_MESSAGES`, written in the code, never a campaign's
template: this path cannot carry marketing. The text lives only in memory; nothing personal
is logged. The delivery worker is not involved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

from flask import Flask, current_app
from sqlalchemy.orm import Session

from app.channels.email import dkim_sign, mail_domain, message_id_for
from app.channels.errors import PermanentFailure, TransientFailure
from app.channels.sms import OutgoingSms, SmsGateway
from app.channels.smtp import SmtpSender
from app.delivery.settings import dkim_key, smtp_settings
from app.outbox.models import SendLog
from app.settings import current_settings
from app.transaction import transaction

SERVICE_PURPOSE = "service"
#: The relationship messages this path sends, each with its fixed text in the code.
RELATIONSHIP_MESSAGES = frozenset({"double_opt_in", "password_reset", "welcome", "signup_existing"})


class TransactionalSendFailed(Exception):
    """The relay or gateway could not take the message (the reason names no address)."""


@dataclass(frozen=True, slots=True)
class TransactionalEmail:
    """One transactional e-mail: where to, subject and plain text."""

    recipient: str
    subject: str
    text: str
    template_key: str

    def __post_init__(self) -> None:
        """Refuse anything but a known relationship message (a campaign never comes here)."""
        if self.template_key not in RELATIONSHIP_MESSAGES:
            raise ValueError(f"{self.template_key!r} is not a relationship message")


def build_transactional_message(app: Flask, email: TransactionalEmail) -> bytes:
    """The RFC 5322 message (CRLF line ends, DKIM-signed when configured)."""
    mail_from = current_settings(app).mail_from
    message = EmailMessage(policy=SMTP)
    message["From"] = mail_from
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = message_id_for(
        f"transactional:{email.template_key}:{uuid.uuid4()}", mail_domain(mail_from)
    )
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    raw = message.as_bytes()
    key = dkim_key(app)
    return dkim_sign(raw, key) + raw if key is not None else raw


def send_transactional_email(
    session: Session, customer_id: int, email: TransactionalEmail, app: Flask | None = None
) -> None:
    """Hand ``email`` to the SMTP relay now and record it; raises ``TransactionalSendFailed``."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    sender = SmtpSender(smtp_settings(app), current_settings(app).mail_from)
    try:
        sender.stage(email.recipient, build_transactional_message(app, email))
        sender.commit()
    except (TransientFailure, PermanentFailure) as exc:
        raise TransactionalSendFailed(str(exc)) from None
    finally:
        sender.close()
    _record(session, customer_id, "email")


def send_transactional_sms(session: Session, customer_id: int, recipient: str, text: str) -> None:
    """Send a text message through the SMS gateway now; raises when none is configured."""
    settings = current_settings()
    if not settings.sms_webhook_url:
        raise TransactionalSendFailed("no SMS gateway is configured")
    gateway = SmsGateway(settings.sms_webhook_url, settings.sms_timeout_seconds)
    try:
        gateway.send(OutgoingSms(recipient, text, f"transactional-{uuid.uuid4()}"))
    except (TransientFailure, PermanentFailure) as exc:
        raise TransactionalSendFailed(str(exc)) from None
    _record(session, customer_id, "sms")


def _record(session: Session, customer_id: int, channel: str) -> None:
    with transaction(session):
        session.add(
            SendLog(
                customer_id=customer_id,
                channel=channel,
                purpose=SERVICE_PURPOSE,
                transactional=True,
            )
        )
