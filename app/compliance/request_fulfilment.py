"""Fulfilling data-subject requests through the services that own the data.

The vault's export (a signed, expiring download link e-mailed to the customer), its
rectification and crypto-shredding erasure, and the ledger's objection event. Each step is
written to the request's history with who did it and when, and the customer is answered by
e-mail (:mod:`app.compliance.request_mail`). Filing, deadlines and assignment are
:mod:`app.compliance.requests`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.compliance import request_mail
from app.compliance.models import DataSubjectRequest
from app.compliance.request_export import EXPORT_DAYS, EXPORT_KINDS, issue_export_link
from app.compliance.request_identity import require_identity
from app.compliance.requests import mark_fulfilled, record_action, require_open
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.ledger.consent import object_to_direct_marketing
from app.transaction import transaction
from app.vault.erasure import erase_customer
from app.vault.fields import FIELDS
from app.vault.service import update_field


def _customer(session: Session, request: DataSubjectRequest) -> Customer:
    customer = session.get(Customer, request.customer_id)
    if customer is None or customer.erased_at is not None:
        raise Conflict("The customer's data was erased; close the request instead.")
    return customer


def fulfil_export(session: Session, request: DataSubjectRequest, *, actor: str) -> bool:
    """Access or portability: e-mail the customer a signed, expiring link to download their
    export (the officer never holds it) and close the request; True when the e-mail went."""
    require_open(request)
    if request.kind not in EXPORT_KINDS:
        raise Conflict("Only access and portability requests are answered with an export.")
    require_identity(request)
    _customer(session, request)
    link = issue_export_link(session, request)
    with transaction(session):
        outcome = f"export delivered to the customer by a signed link valid {EXPORT_DAYS} days"
        mark_fulfilled(session, request, actor, outcome)
    return request_mail.answer_request(session, request, link=link)


def resend_export(session: Session, request: DataSubjectRequest, *, actor: str) -> bool:
    """A new download link for a fulfilled export (the previous one stops working)."""
    if request.kind not in EXPORT_KINDS or request.status != "fulfilled":
        raise Conflict("Only a fulfilled access or portability request has an export to send.")
    _customer(session, request)
    link = issue_export_link(session, request)
    with transaction(session):
        record_action(session, request, actor, "export_link_reissued", f"valid {EXPORT_DAYS} days")
    return request_mail.answer_request(session, request, link=link)


def fulfil_rectification(
    session: Session, request: DataSubjectRequest, field: str, value: str, *, actor: str
) -> None:
    """Correct one field through the vault (the previous value stays in the history).

    The field must be one of the catalogue and the corrected value must not be empty (removing
    data is an erasure, not a rectification).
    """
    require_open(request)
    if request.kind != "rectification":
        raise Conflict("This is not a rectification request.")
    if not isinstance(field, str) or field not in FIELDS:
        raise InvalidInput("Choose the field to correct from the list.")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Enter the corrected value of the field.")
    require_identity(request)
    customer = _customer(session, request)
    update_field(
        session,
        customer,
        field,
        value,
        actor=actor,
        reason=f"request #{request.id} (rectification)",
    )
    with transaction(session):
        record_action(session, request, actor, "rectified", f"field {field}")


def complete(session: Session, request: DataSubjectRequest, *, actor: str, outcome: str) -> None:
    """Close a rectification once every field asked for is corrected."""
    require_open(request)
    if request.kind != "rectification":
        raise Conflict("Only rectifications are closed by hand; the others close by acting.")
    with transaction(session):
        mark_fulfilled(session, request, actor, (outcome or "rectified").strip()[:500])
    request_mail.answer_request(session, request)


def fulfil_erasure(
    session: Session, request: DataSubjectRequest, confirm_ref: str, *, actor: str
) -> None:
    """Crypto-shred the customer, after the officer types their reference to confirm."""
    require_open(request)
    if request.kind != "erasure":
        raise Conflict("This is not an erasure request.")
    require_identity(request)
    customer = _customer(session, request)
    if (confirm_ref or "").strip() != customer.ref:
        raise InvalidInput("Type the customer's reference exactly to confirm the erasure.")
    # The address is read before the key is destroyed, kept in memory only for the answer.
    recipient = request_mail.recipient_of(session, customer)
    erase_customer(session, customer, actor=actor, reason=f"request #{request.id} (erasure)")
    with transaction(session):
        request.details = None
        mark_fulfilled(session, request, actor, "data key and data destroyed (crypto-shredding)")
    request_mail.answer_request(session, request, recipient)


def fulfil_objection(session: Session, request: DataSubjectRequest, *, actor: str) -> None:
    """Record the objection to all direct marketing in the ledger (GDPR Art. 21)."""
    require_open(request)
    if request.kind != "objection":
        raise Conflict("This is not an objection.")
    require_identity(request)
    customer = _customer(session, request)
    event = object_to_direct_marketing(
        session,
        customer,
        source="staff",
        method="staff",
        actor=actor,
        reason=f"request #{request.id}",
    )
    with transaction(session):
        mark_fulfilled(session, request, actor, f"objection recorded (ledger entry {event.seq})")
    request_mail.answer_request(session, request)
