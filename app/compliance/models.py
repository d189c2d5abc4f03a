"""Data-subject requests (GDPR Arts. 15 to 22) and the history of what was done about them.

A request names its customer by id and pseudonymous reference only. What the customer wrote
with it is sealed with the customer's own data key, so erasing the customer shreds it too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow

REQUEST_KINDS = ("access", "export", "rectification", "erasure", "objection")
REQUEST_STATUSES = ("received", "in_progress", "fulfilled", "refused")
OPEN_STATUSES = ("received", "in_progress")
REQUEST_CHANNELS = ("portal", "staff", "api")
#: Identity of the person behind a request: shown by signing in to the portal, or still to be
#: confirmed (a request entered by staff) by the link e-mailed to the address on file or by
#: the officer recording how it was checked.
IDENTITY_STATES = ("verified", "pending")
#: Reminders of a request's deadline, and how long before it each one is due.
REMINDER_KINDS = ("week_before", "day_before", "overdue")


class DataSubjectRequest(Model):
    """One request from a customer about their data, with its legal deadline."""

    __tablename__ = "data_subject_requests"
    __table_args__ = (Index("ix_data_subject_requests_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_ref: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="received")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    details: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
    identity_status: Mapped[str] = mapped_column(String(16), default="verified")
    identity_method: Mapped[str | None] = mapped_column(String(120))
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The id the current export link carries: issuing a new link (or closing) revokes the old.
    export_link_id: Mapped[str | None] = mapped_column(String(32))


class RequestAction(Model):
    """One step taken on a request: who, when, what (no personal data in ``note``)."""

    __tablename__ = "data_subject_request_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("data_subject_requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class RequestReminder(Model):
    """A deadline reminder of an open request, due at ``remind_at``; ``sent_at`` once sent.

    The scheduler's job sends those due (app.compliance.request_reminders); the rows are the
    schedule, so any process may send them, each exactly once.
    """

    __tablename__ = "data_subject_request_reminders"
    __table_args__ = (
        UniqueConstraint("request_id", "kind"),
        Index("ix_data_subject_request_reminders_due", "sent_at", "remind_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("data_subject_requests.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
