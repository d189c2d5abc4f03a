"""Looking at what a customer wrote with their request: one logged look, shown until it expires.

Showing the details is a read of personal data, so it is written to the vault access log. The
look is made by a POST that logs it and redirects to the request's page naming the look's
access-log entry; that page decrypts the details again for as long as the look is fresh, without
logging anything more, so reloading or going back never logs a second look and the plain text is
never stored anywhere (not in the session, not in the database).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.compliance.models import DataSubjectRequest
from app.customers.models import Customer
from app.errors import Conflict, NotFound
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.models import VaultAccess
from app.vault.service import log_access, open_cipher

DETAILS_FIELD = "dsr_details"
LOOK_PURPOSE = "data_subject_request"
#: How long one logged look shows the details on reload.
LOOK_LIFETIME = timedelta(minutes=10)


def _reason(request: DataSubjectRequest) -> str:
    return f"handling request #{request.id}"


def _customer(session: Session, request: DataSubjectRequest) -> Customer | None:
    customer = session.get(Customer, request.customer_id)
    if customer is None or customer.erased_at is not None or request.details is None:
        return None
    return customer


def look_at_details(session: Session, request: DataSubjectRequest, *, actor: str) -> int:
    """Log one look at the request's details by ``actor``; returns the look's id.

    :class:`NotFound` when there is nothing to show (no details, or the customer was erased).
    """
    customer = _customer(session, request)
    if customer is None:
        raise NotFound("This request holds no details to show.")
    with transaction(session):
        entry = log_access(
            session,
            actor=actor,
            purpose=LOOK_PURPOSE,
            fields=(DETAILS_FIELD,),
            customer_count=1,
            customer_ref=customer.ref,
            reason=_reason(request),
        )
        session.flush()
    return entry.id


def details_of_look(
    session: Session,
    request: DataSubjectRequest,
    look_id: int,
    *,
    actor: str,
    now: datetime | None = None,
) -> str:
    """The details shown by look ``look_id`` (decrypted; nothing more is logged).

    The look must be ``actor``'s own, about this request, and younger than
    :data:`LOOK_LIFETIME`: :class:`NotFound` for a look that is not, :class:`Conflict` for one
    that expired.
    """
    customer = _customer(session, request)
    look = session.get(VaultAccess, look_id)
    if (
        customer is None
        or request.details is None
        or look is None
        or look.actor != actor
        or look.purpose != LOOK_PURPOSE
        or look.fields != DETAILS_FIELD
        or look.customer_ref != customer.ref
        or look.reason != _reason(request)
    ):
        raise NotFound("No such look at this request's details.")
    if look.at + LOOK_LIFETIME < (now or utcnow()):
        raise Conflict("That look has expired; show the details again (the look is logged).")
    return open_cipher(session, customer).decrypt(DETAILS_FIELD, request.details)
