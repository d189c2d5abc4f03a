"""E-mails to the person behind a data-subject request: the acknowledgement and the answer.

Both are relationship messages with fixed texts in the code (never a campaign), sent at once in
the customer's language to the address on file, and written to the request's history (sent, or
that it could not be handed over: the officer then answers by other means). The addresses are
read from the vault for the message only and never stored.

The acknowledgement of a request entered by staff carries a signed link with which the person
confirms the request is theirs (see :mod:`app.compliance.request_identity`); the answer to an
access or portability request carries the signed, expiring link to download the export
(:mod:`app.compliance.request_export`).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from app.compliance.models import DataSubjectRequest, RequestAction
from app.customers.models import Customer
from app.delivery.transactional import (
    TransactionalEmail,
    TransactionalSendFailed,
    send_transactional_email,
)
from app.extensions import LANGUAGES
from app.self_service.mail import public_url
from app.transaction import transaction
from app.vault.service import read_own_profile

ACKNOWLEDGEMENT, ANSWER = "request_acknowledgement", "request_answer"


def _kind(kind: str) -> str:
    labels = {
        "access": gettext("access to your data"),
        "export": gettext("a copy of your data to take away"),
        "rectification": gettext("correction of your data"),
        "erasure": gettext("erasure of your data"),
        "objection": gettext("no direct marketing (objection)"),
    }
    return labels.get(kind, kind)


def recipient_of(session: Session, customer: Customer) -> tuple[str | None, str]:
    """The customer's e-mail address on file (``None`` when none) and their language."""
    language = customer.language if customer.language in LANGUAGES else "en"
    if customer.erased_at is not None:
        return None, language
    return read_own_profile(session, customer).get("email"), language


def _send(
    session: Session,
    request: DataSubjectRequest,
    recipient: str | None,
    email: tuple[str, str, str],
) -> bool:
    """Send ``(subject, text, key)`` to ``recipient``; the outcome goes to the history."""
    subject, text, key = email
    sent = False
    if recipient:
        message = TransactionalEmail(recipient, subject, text + "\n", key)
        try:
            send_transactional_email(session, request.customer_id, message)
            sent = True
        except TransactionalSendFailed:
            current_app.logger.warning("request e-mail %s could not be sent", key)
    what = "acknowledgement" if key == ACKNOWLEDGEMENT else "answer"
    note = f"{what} e-mailed to the customer" if sent else f"{what} could not be e-mailed"
    with transaction(session):
        session.add(
            RequestAction(
                request_id=request.id,
                actor="system",
                action="e-mailed" if sent else "e-mail_failed",
                note=note,
            )
        )
    return sent


def acknowledge(
    session: Session, request: DataSubjectRequest, customer: Customer, confirm_link: str | None
) -> bool:
    """Tell the customer their request is recorded and when it will be answered; with
    ``confirm_link`` (a request entered by staff), ask them to confirm it is theirs."""
    recipient, language = recipient_of(session, customer)
    with force_locale(language):
        paragraphs = [
            gettext(
                "We received your request for %(kind)s (reference %(ref)s) on %(date)s.",
                kind=_kind(request.kind),
                ref=f"#{request.id}",
                date=request.received_at.strftime("%Y-%m-%d"),
            ),
            gettext(
                "We will answer by %(date)s at the latest.",
                date=request.due_at.strftime("%Y-%m-%d"),
            ),
        ]
        if confirm_link:
            paragraphs += [
                gettext(
                    "Our staff recorded this request on your behalf. To confirm that it is "
                    "yours, open this link within 7 days:"
                ),
                confirm_link,
                gettext(
                    "If you did not make this request, ignore this message: nothing will be done."
                ),
            ]
        paragraphs += [
            gettext("You can follow your requests after signing in:"),
            public_url("portal.requests"),
        ]
        email = (gettext("We received your request"), "\n\n".join(paragraphs), ACKNOWLEDGEMENT)
    return _send(session, request, recipient, email)


def _fulfilled_text(request: DataSubjectRequest, download_link: str | None) -> list[str]:
    if request.kind in ("access", "export") and download_link:
        return [
            gettext("Your data is ready. Download it within 7 days from this link:"),
            download_link,
            gettext("The file is in JSON, a format other services can read."),
        ]
    return {
        "rectification": [gettext("The data you asked about has been corrected.")],
        "erasure": [
            gettext(
                "Your data has been erased: the key that protected it was destroyed, so no "
                "one can read it any more. This is the last message you receive from us."
            )
        ],
        "objection": [gettext("We will send you no direct marketing on any channel.")],
    }.get(request.kind, [])


def answer(
    session: Session,
    request: DataSubjectRequest,
    recipient: str | None,
    language: str,
    download_link: str | None = None,
) -> bool:
    """Tell the customer how their request was closed: fulfilled (with what was done, or the
    download link) or refused (with the reason given)."""
    with force_locale(language):
        ref = f"#{request.id}"
        if request.status == "refused":
            paragraphs = [
                gettext(
                    "We cannot act on your request for %(kind)s (reference %(ref)s).",
                    kind=_kind(request.kind),
                    ref=ref,
                ),
                gettext("The reason: %(reason)s", reason=request.outcome or ""),
                gettext(
                    "You may complain to your data protection authority or seek a judicial remedy."
                ),
            ]
        else:
            paragraphs = [
                gettext(
                    "Your request for %(kind)s (reference %(ref)s) is fulfilled.",
                    kind=_kind(request.kind),
                    ref=ref,
                ),
                *_fulfilled_text(request, download_link),
            ]
        email = (gettext("Our answer to your request"), "\n\n".join(paragraphs), ANSWER)
    return _send(session, request, recipient, email)


def answer_request(
    session: Session,
    request: DataSubjectRequest,
    recipient: tuple[str | None, str] | None = None,
    link: str | None = None,
) -> bool:
    """E-mail the answer to the customer (to ``recipient`` read before an erasure)."""
    if recipient is None:
        customer = session.get(Customer, request.customer_id)
        recipient = recipient_of(session, customer) if customer else (None, "en")
    return answer(session, request, recipient[0], recipient[1], link)
