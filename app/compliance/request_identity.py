"""Whose request is it? Identity verification of data-subject requests.

A request made in the portal comes from a signed-in customer: verified. A request entered by
staff (a letter, a call, an e-mail to the operator) is pending until the person confirms it with
the signed link sent to the address on file, or an officer records how they checked it (an
identity document at the counter, a call back to the number on file). Nothing that discloses or
changes data is done for a request still pending (GDPR Art. 12(6)); it can still be refused.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import signed_links
from app.compliance.models import DataSubjectRequest, RequestAction
from app.errors import Conflict, InvalidInput, NotFound
from app.models_base import utcnow
from app.self_service.mail import public_url
from app.transaction import transaction

#: How long the confirmation link of a request entered by staff works.
CONFIRM_DAYS = 7
BY_PORTAL = "signed in to the portal"
BY_LINK = "confirmed with the link e-mailed to the address on file"
MIN_METHOD = 10


def initial_identity(channel: str) -> tuple[str, str | None]:
    """(status, method) of a new request arriving through ``channel``."""
    return ("verified", BY_PORTAL) if channel == "portal" else ("pending", None)


def confirmation_link(request: DataSubjectRequest) -> str:
    """The signed link with which the person confirms a request entered by staff."""
    token = signed_links.sign(signed_links.REQUEST_CONFIRMATION, {"r": request.id})
    return public_url("request_links.confirm", token=token)


def request_of_link(session: Session, token: str) -> DataSubjectRequest:
    """The request a confirmation link names; :class:`InvalidInput` when the link is not
    authentic or expired, :class:`NotFound` when the request is gone."""
    try:
        values = signed_links.read(signed_links.REQUEST_CONFIRMATION, token, CONFIRM_DAYS * 86_400)
    except signed_links.Expired:
        raise InvalidInput("This link has expired. Contact us to confirm your request.") from None
    except signed_links.Invalid:
        raise InvalidInput("This link is not valid.") from None
    request = session.get(DataSubjectRequest, values.get("r") if isinstance(values, dict) else None)
    if request is None:
        raise NotFound("This request no longer exists.")
    return request


def _verified(session: Session, request: DataSubjectRequest, method: str, actor: str) -> None:
    with transaction(session):
        request.identity_status = "verified"
        request.identity_method = method
        request.identity_verified_at = utcnow()
        session.add(
            RequestAction(
                request_id=request.id, actor=actor, action="identity_verified", note=method
            )
        )


def confirm_by_link(session: Session, token: str) -> DataSubjectRequest:
    """The person confirmed the request with the e-mailed link (idempotent)."""
    request = request_of_link(session, token)
    if request.identity_status != "verified":
        _verified(session, request, BY_LINK, "customer")
    return request


def record_verification(
    session: Session, request: DataSubjectRequest, method: str | None, *, actor: str
) -> None:
    """An officer records how the requester's identity was checked."""
    if request.identity_status == "verified":
        raise Conflict("The requester's identity is already verified.")
    text = (method or "").strip()
    if len(text) < MIN_METHOD:
        raise InvalidInput(
            f"Say how the identity was checked (at least {MIN_METHOD} characters, "
            "e.g. “ID card seen at the counter”)."
        )
    _verified(session, request, text[:120], actor)


def require_identity(request: DataSubjectRequest) -> None:
    """Refuse to disclose or change anything for a request whose identity is pending."""
    if request.identity_status != "verified":
        raise Conflict(
            "The requester's identity is not verified yet: wait for their confirmation by the "
            "e-mailed link, or record how you checked it."
        )
