"""Data-subject requests: filing, deadlines, assignment, refusal and the request's history.

Deadlines follow GDPR Art. 12(3): an answer within one month of receipt, extendable once by two
further months when the request is complex or requests are numerous, with the reason recorded
(and the customer told within the first month). Months are calendar months: a request received
on 31 January is due on the last day of February.

Each step is written to the request's history with who did it and when. Fulfilment, through
the services that own the data, is :mod:`app.compliance.request_fulfilment`; the console's list
and counts are :mod:`app.compliance.request_queries`.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import StaffUser
from app.compliance import request_mail
from app.compliance.models import (
    OPEN_STATUSES,
    REQUEST_CHANNELS,
    REQUEST_KINDS,
    DataSubjectRequest,
    RequestAction,
)
from app.compliance.request_identity import (
    confirmation_link,
    initial_identity,
)
from app.compliance.request_looks import DETAILS_FIELD, details_of_look, look_at_details
from app.compliance.request_reminders import cancel_reminders, schedule_reminders
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput, NotFound
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.service import open_cipher
from app.webhooks.outbox import enqueue

#: The staff roles that can open and handle requests (the console's routes allow only them).
HANDLER_ROLES = ("compliance_officer",)
MAX_DETAILS = 2_000
MIN_REASON = 10
KIND_LABELS = {
    "access": "Access (Art. 15)",
    "export": "Portability (Art. 20)",
    "rectification": "Rectification (Art. 16)",
    "erasure": "Erasure (Art. 17)",
    "objection": "Objection (Art. 21)",
}


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar ``months``; the day is clamped to the target month's length."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_date(received_at: datetime, extended: bool = False) -> datetime:
    """The legal deadline: one month after receipt, three when extended."""
    return add_months(received_at, 3 if extended else 1)


def is_overdue(request: DataSubjectRequest, now: datetime | None = None) -> bool:
    """True when the request is still open after its deadline."""
    return request.status in OPEN_STATUSES and request.due_at < (now or utcnow())


def _reason(text: str | None, what: str) -> str:
    clean = (text or "").strip()
    if len(clean) < MIN_REASON:
        raise InvalidInput(f"Give {what} (at least {MIN_REASON} characters).")
    return clean[:1000]


#: Request actions integrators are told of, by webhook.
REQUEST_EVENTS = {
    "received": "request.created",
    "fulfilled": "request.closed",
    "refused": "request.closed",
}


def record_action(
    session: Session, request: DataSubjectRequest, actor: str, action: str, note: str | None = None
) -> None:
    """Write ``action`` to the request's history (and tell integrators of the ones they hear of)."""
    session.add(RequestAction(request_id=request.id, actor=actor, action=action, note=note))
    event = REQUEST_EVENTS.get(action)
    if event is not None:  # integrators hear of it (pseudonymous: id, kind, status)
        data = {"request_id": request.id, "kind": request.kind, "status": request.status}
        enqueue(session, event, request.customer_ref, data)


def file_request(
    session: Session,
    customer: Customer,
    kind: str,
    *,
    channel: str,
    actor: str,
    details: str | None = None,
    received_at: datetime | None = None,
    acknowledge: bool = True,
) -> DataSubjectRequest:
    """Record a new request; its deadline runs from ``received_at`` (default now).

    Its deadline reminders are scheduled, and (with ``acknowledge``) the customer is told by
    e-mail; a request entered by staff waits for the person to confirm it is theirs.
    """
    if kind not in REQUEST_KINDS:
        raise InvalidInput(f"Unknown kind of request {kind!r}.")
    if channel not in REQUEST_CHANNELS:
        raise InvalidInput(f"Unknown channel {channel!r}.")
    if customer.erased_at is not None:
        raise InvalidInput("This customer's data was erased; there is nothing left to act on.")
    text = (details or "").strip()
    if len(text) > MAX_DETAILS:
        raise InvalidInput(f"The details are too long (at most {MAX_DETAILS} characters).")
    received = received_at or utcnow()
    if received > utcnow() + timedelta(minutes=5):
        raise InvalidInput("A request cannot be received in the future.")
    sealed = open_cipher(session, customer).encrypt(DETAILS_FIELD, text) if text else None
    with transaction(session):
        request = DataSubjectRequest(
            customer_id=customer.id,
            customer_ref=customer.ref,
            kind=kind,
            channel=channel,
            status="received",
            received_at=received,
            due_at=due_date(received),
            details=sealed,
            created_by=actor,
        )
        request.identity_status, request.identity_method = initial_identity(channel)
        if request.identity_status == "verified":
            request.identity_verified_at = received
        session.add(request)
        session.flush()
        record_action(session, request, actor, "received", f"{KIND_LABELS[kind]} via {channel}")
        schedule_reminders(session, request, utcnow())
    if acknowledge:
        link = confirmation_link(request) if request.identity_status == "pending" else None
        request_mail.acknowledge(session, request, customer, link)
    return request


def record_fulfilled(
    session: Session, customer: Customer, kind: str, *, actor: str, outcome: str
) -> DataSubjectRequest:
    """A request the customer fulfilled themselves in the portal (download, deletion)."""
    request = file_request(
        session, customer, kind, channel="portal", actor=actor, acknowledge=False
    )
    with transaction(session):
        mark_fulfilled(session, request, actor, outcome)
    return request


def record_erasure(session: Session, customer: Customer) -> DataSubjectRequest:
    """The erasure a customer carried out themselves (after it happened: nothing is sealed)."""
    now = utcnow()
    outcome = "account deleted by the customer in the portal (crypto-shredding)"
    with transaction(session):
        request = DataSubjectRequest(
            customer_id=customer.id,
            customer_ref=customer.ref,
            kind="erasure",
            channel="portal",
            status="fulfilled",
            received_at=now,
            due_at=due_date(now),
            created_by="customer",
            closed_at=now,
            outcome=outcome,
        )
        session.add(request)
        session.flush()
        record_action(session, request, "customer", "fulfilled", outcome)
    return request


def get_request(session: Session, request_id: int) -> DataSubjectRequest:
    """The request ``request_id``, or :class:`NotFound`."""
    request = session.get(DataSubjectRequest, request_id)
    if request is None:
        raise NotFound("No such request.")
    return request


def assignable_staff(session: Session) -> list[StaffUser]:
    """The staff who can open and handle requests: active accounts of :data:`HANDLER_ROLES`."""
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.role.in_(HANDLER_ROLES), StaffUser.active.is_(True))
            .order_by(StaffUser.email)
        )
    )


def require_open(request: DataSubjectRequest) -> None:
    """Refuse to act on a request that is closed."""
    if request.status not in OPEN_STATUSES:
        raise Conflict(f"This request is already {request.status}.")


def assign(
    session: Session, request: DataSubjectRequest, assignee_id: int | None, *, actor: str
) -> None:
    """Give the request to a staff member (or to no one); starts work on it."""
    require_open(request)
    name = "no one"
    if assignee_id is not None:
        staff = session.get(StaffUser, assignee_id)
        if staff is None or not staff.active or staff.role not in HANDLER_ROLES:
            raise InvalidInput("Assign the request to an active compliance officer.")
        name = staff.email
    with transaction(session):
        request.assignee_id = assignee_id
        if request.status == "received":
            request.status = "in_progress"
        record_action(session, request, actor, "assigned", f"to {name}")


def extend(
    session: Session, request: DataSubjectRequest, reason: str | None, *, actor: str
) -> None:
    """Extend the deadline by two further months (once), recording why (Art. 12(3))."""
    require_open(request)
    if request.extended_at is not None:
        raise Conflict("The deadline was already extended; the law allows it once.")
    why = _reason(reason, "the reason for the extension")
    now = utcnow()
    if now > request.due_at:
        raise Conflict("The deadline has passed; it can no longer be extended.")
    with transaction(session):
        request.extended_at, request.extension_reason = now, why
        request.due_at = due_date(request.received_at, extended=True)
        record_action(session, request, actor, "extended", why)
        schedule_reminders(session, request, now)


def refuse(
    session: Session, request: DataSubjectRequest, reason: str | None, *, actor: str
) -> None:
    """Close the request without acting, with the reason the customer will be given."""
    require_open(request)
    why = _reason(reason, "the reason for refusing (it is sent to the customer)")
    with transaction(session):
        request.status, request.closed_at, request.outcome = "refused", utcnow(), why
        record_action(session, request, actor, "refused", why)
        cancel_reminders(session, request)
    request_mail.answer_request(session, request)


def mark_fulfilled(session: Session, request: DataSubjectRequest, actor: str, outcome: str) -> None:
    """Close ``request`` as fulfilled with ``outcome`` (in the caller's transaction)."""
    request.status, request.closed_at, request.outcome = "fulfilled", utcnow(), outcome
    record_action(session, request, actor, "fulfilled", outcome)
    cancel_reminders(session, request)


def read_details(session: Session, request: DataSubjectRequest, *, actor: str) -> str | None:
    """What the customer wrote with the request (decrypted; one look is logged)."""
    try:
        look = look_at_details(session, request, actor=actor)
    except NotFound:
        return None
    return details_of_look(session, request, look, actor=actor)
