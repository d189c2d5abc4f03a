"""The compliance package's scheduled job: sending the data-subject requests' deadline reminders.

The scheduler (:mod:`app.campaigns.scheduler`) names it by its textual reference,
:data:`app.campaigns.jobs.REMIND_REQUESTS`; like every job it runs inside the application that
started the scheduler (:func:`app.campaigns.jobs.in_app`).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from app.campaigns.jobs import in_app
from app.compliance.request_reminders import send_due_reminders
from app.models_base import utcnow

log = logging.getLogger("assenso.scheduler")


def remind_requests() -> None:
    """Send the deadline reminders of data-subject requests that fell due."""

    def remind_requests_job(session: Session) -> None:
        sent = send_due_reminders(session, utcnow())
        if sent:
            log.info("sent %s request deadline reminders", sent)

    in_app(remind_requests_job)
