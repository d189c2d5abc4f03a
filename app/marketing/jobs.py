"""The marketing package's scheduled job: refitting the customer-value models when due.

The scheduler (:mod:`app.campaigns.scheduler`) names it by its textual reference,
:data:`app.campaigns.jobs.REFIT_VALUES`; like every job it runs inside the application that
started the scheduler (:func:`app.campaigns.jobs.in_app`).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from app.campaigns.jobs import in_app
from app.marketing.value_service import refit_if_due
from app.models_base import utcnow

log = logging.getLogger("assenso.scheduler")


def refit_values() -> None:
    """Refit the customer-value models when the last fit is older than ``VALUE_REFIT_DAYS``."""

    def refit_values_job(session: Session) -> None:
        result = refit_if_due(session, utcnow())
        if result is not None:
            log.info("customer value: %s scored, fit %s", result.scored, result.fit_id)

    in_app(refit_values_job)
