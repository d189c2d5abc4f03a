"""The compliance package's scheduled jobs: the data-subject requests' deadline reminders, and
purging records past their retention (the API's idempotency records).

The scheduler (:mod:`app.campaigns.scheduler`) names them by their textual references,
:data:`app.campaigns.jobs.REMIND_REQUESTS` and :data:`~app.campaigns.jobs.PURGE_RECORDS`; like
every job they run inside the application that started the scheduler
(:func:`app.campaigns.jobs.in_app`).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from app.campaigns.jobs import in_app
from app.compliance.request_reminders import send_due_reminders
from app.integrations.idempotency_records import purge_expired
from app.models_base import utcnow
from app.settings import current_settings

log = logging.getLogger("assenso.scheduler")


def remind_requests() -> None:
    """Send the deadline reminders of data-subject requests that fell due."""

    def remind_requests_job(session: Session) -> None:
        sent = send_due_reminders(session, utcnow())
        if sent:
            log.info("sent %s request deadline reminders", sent)

    in_app(remind_requests_job)


def purge_records() -> None:
    """Delete the API's idempotency records past their retention."""

    def purge_records_job(session: Session) -> None:
        purged = purge_expired(session, utcnow(), current_settings())
        if purged:
            log.info("purged %s expired idempotency records", purged)

    in_app(purge_records_job)
