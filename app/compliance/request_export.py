"""Delivering the export of an access or portability request to the person, not the officer.

Fulfilling such a request issues a signed link (itsdangerous, :mod:`app.signed_links`) that
names the request and a random link id kept on it, and e-mails it to the address on file. The
person downloads their export from it for :data:`EXPORT_DAYS`; issuing a new link revokes the
previous one. The export is built from the vault at the moment of download (nothing is stored),
and each download is written to the vault access log. The officer never holds the data.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from app import signed_links
from app.compliance.models import DataSubjectRequest
from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.self_service.export import export_customer
from app.self_service.mail import public_url
from app.transaction import transaction
from app.vault.service import log_access

EXPORT_DAYS = 7
EXPORT_KINDS = ("access", "export")


def issue_export_link(session: Session, request: DataSubjectRequest) -> str:
    """A new download link for the request's export (the previous one stops working)."""
    link_id = secrets.token_hex(16)
    with transaction(session):
        request.export_link_id = link_id
    token = signed_links.sign(signed_links.DATA_EXPORT, {"r": request.id, "l": link_id})
    return public_url("request_links.export", token=token)


def request_of_export_link(session: Session, token: str) -> tuple[DataSubjectRequest, Customer]:
    """The request and customer a download link is for; :class:`InvalidInput` when the link
    is not authentic, expired or replaced, :class:`NotFound` when there is nothing to give."""
    try:
        values = signed_links.read(signed_links.DATA_EXPORT, token, EXPORT_DAYS * 86_400)
    except signed_links.Expired:
        raise InvalidInput("This link has expired. Ask us for a new one.") from None
    except signed_links.Invalid:
        raise InvalidInput("This link is not valid.") from None
    if not isinstance(values, dict):
        raise InvalidInput("This link is not valid.")
    request = session.get(DataSubjectRequest, values.get("r"))
    if request is None or request.kind not in EXPORT_KINDS:
        raise NotFound("There is no export for this link.")
    if request.export_link_id is None or request.export_link_id != values.get("l"):
        raise InvalidInput("This link was replaced by a newer one. Use the latest e-mail.")
    customer = session.get(Customer, request.customer_id)
    if customer is None or customer.erased_at is not None:
        raise NotFound("There is no export for this link: the data was erased.")
    return request, customer


def download_export(session: Session, token: str) -> tuple[DataSubjectRequest, dict[str, Any]]:
    """The export a valid link gives, built now; the download is written to the access log."""
    request, customer = request_of_export_link(session, token)
    document = export_customer(session, customer)
    with transaction(session):
        log_access(
            session,
            actor="customer",
            purpose="data_subject_request",
            fields=("all",),
            customer_count=1,
            customer_ref=customer.ref,
            reason=f"download of the export of request #{request.id} by its link",
        )
    return request, document
