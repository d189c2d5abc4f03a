"""Deadline reminders of open requests, kept as rows and sent by a scheduled job.

Filing a request schedules three reminders: a week before its deadline, a day before, and when
it passes (of those already due at filing, only the latest is kept, and sent at once). Extending the
deadline schedules them again. The scheduler's job (:func:`send_due_reminders`, every
``ASSENSO_SCHEDULER_REMINDER_SECONDS``) claims each due reminder with a conditional update, so
however many processes run it, each reminder is sent once; it goes by e-mail to the request's
assignee, or to every active compliance officer when no one is assigned, and into the request's
history. A reminder names the request and its deadline, never the customer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.accounts.models import StaffUser
from app.channels.errors import PermanentFailure, TransientFailure
from app.channels.smtp import SmtpSender
from app.compliance.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    RequestAction,
    RequestReminder,
)
from app.delivery.settings import smtp_settings
from app.delivery.transactional import TransactionalEmail, build_transactional_message
from app.models_base import rows_changed, utcnow
from app.self_service.mail import public_url
from app.settings import current_settings
from app.transaction import transaction

log = logging.getLogger("assenso.compliance")

#: How long before the deadline each reminder is due.
REMINDERS = {
    "week_before": timedelta(days=7),
    "day_before": timedelta(days=1),
    "overdue": timedelta(0),
}
HANDLER_ROLE = "compliance_officer"


def schedule_reminders(session: Session, request: DataSubjectRequest, now: datetime) -> None:
    """(Re)schedule the request's reminders for its current deadline (in the caller's
    transaction)."""
    session.execute(delete(RequestReminder).where(RequestReminder.request_id == request.id))
    times = {kind: request.due_at - ahead for kind, ahead in REMINDERS.items()}
    passed = [kind for kind, at in times.items() if at <= now]
    for kind, at in times.items():
        # Of the reminders already due, only the latest is worth sending (at once).
        if at > now or kind == passed[-1]:
            session.add(RequestReminder(request_id=request.id, kind=kind, remind_at=at))


def cancel_reminders(session: Session, request: DataSubjectRequest) -> None:
    """Drop the reminders not yet sent of a closed request (in the caller's transaction)."""
    session.execute(
        delete(RequestReminder).where(
            RequestReminder.request_id == request.id, RequestReminder.sent_at.is_(None)
        )
    )


def _claim(session: Session, reminder_id: int, now: datetime) -> bool:
    """Mark one reminder sent; True only for the one process whose update took it."""
    with transaction(session):
        return (
            rows_changed(
                session,
                update(RequestReminder)
                .where(RequestReminder.id == reminder_id, RequestReminder.sent_at.is_(None))
                .values(sent_at=now),
            )
            == 1
        )


def _recipients(session: Session, request: DataSubjectRequest) -> list[str]:
    officers = select(StaffUser.email).where(
        StaffUser.role == HANDLER_ROLE, StaffUser.active.is_(True)
    )
    if request.assignee_id is not None:
        assignee = session.scalars(officers.where(StaffUser.id == request.assignee_id)).all()
        if assignee:
            return list(assignee)
    return list(session.scalars(officers.order_by(StaffUser.email)))


def _text(request: DataSubjectRequest, kind: str, now: datetime) -> tuple[str, str]:
    due = request.due_at.strftime("%Y-%m-%d %H:%M UTC")
    if kind == "overdue":
        subject = f"Request #{request.id} is overdue"
        lead = f"Request #{request.id} ({request.kind}) passed its deadline, {due}."
    else:
        days = max((request.due_at - now).days, 0)
        subject = f"Request #{request.id} is due in {days} day{'s' if days != 1 else ''}"
        lead = f"Request #{request.id} ({request.kind}) is due on {due}."
    link = public_url("compliance.request_detail", request_id=str(request.id))
    return subject, f"{lead}\n\nOpen it in the compliance console:\n{link}\n"


def _email_staff(recipients: list[str], subject: str, text: str) -> bool:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    sender = SmtpSender(smtp_settings(app), current_settings(app).mail_from)
    try:
        for recipient in recipients:
            email = TransactionalEmail(recipient, subject, text, "request_reminder")
            sender.stage(recipient, build_transactional_message(app, email))
            sender.commit()
    except (TransientFailure, PermanentFailure):
        return False
    finally:
        sender.close()
    return True


def send_due_reminders(session: Session, now: datetime | None = None) -> int:
    """Send every reminder due by ``now`` of a request still open; returns how many."""
    now = now or utcnow()
    due = session.execute(
        select(RequestReminder.id, RequestReminder.kind, DataSubjectRequest)
        .join(DataSubjectRequest, DataSubjectRequest.id == RequestReminder.request_id)
        .where(RequestReminder.sent_at.is_(None), RequestReminder.remind_at <= now)
        .order_by(RequestReminder.remind_at, RequestReminder.id)
    ).all()
    sent = 0
    for reminder_id, kind, request in due:
        if not _claim(session, reminder_id, now) or request.status not in OPEN_STATUSES:
            continue
        recipients = _recipients(session, request)
        subject, text = _text(request, kind, now)
        delivered = bool(recipients) and _email_staff(recipients, subject, text)
        note = f"{subject}; e-mailed to {len(recipients)} officer(s)"
        if not delivered:
            note = f"{subject}; the e-mail could not be sent"
            log.warning("reminder %s of request %s could not be e-mailed", kind, request.id)
        with transaction(session):
            session.add(
                RequestAction(request_id=request.id, actor="system", action="reminded", note=note)
            )
        sent += 1
    return sent
