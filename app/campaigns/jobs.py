"""The scheduler's jobs: module-level functions whose arguments are ids only.

APScheduler stores each job (function reference, trigger, arguments) in the database job
store, so arguments must never carry personal data: a campaign id is all a job gets. Jobs run
in the executor's threads; each one opens an application context of the application that
started the scheduler (:func:`bind_app`) and removes its session afterwards.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TypeVar

from flask import Flask
from sqlalchemy.orm import Session

from app.models_base import utcnow

log = logging.getLogger("assenso.scheduler")

T = TypeVar("T")
_APP: list[Flask] = []
#: Jobs of this process running now; a stopping scheduler waits for them (a while).
_BUSY = threading.Condition()
_RUNNING = [0]

#: Textual references stored in the job store (stable across refactors of this module's body).
RUN_CAMPAIGN = "app.campaigns.jobs:run_campaign"
SYNC_CAMPAIGNS = "app.campaigns.jobs:sync_campaigns"
REFRESH_RUNS = "app.campaigns.jobs:refresh_runs"
EXPIRE_CONSENTS = "app.campaigns.jobs:expire_consents"
SIGN_CHECKPOINT = "app.campaigns.jobs:sign_checkpoint"
REFIT_VALUES = "app.campaigns.jobs:refit_values"
REMIND_REQUESTS = "app.campaigns.jobs:remind_requests"


def bind_app(app: Flask) -> None:
    """Run every job of this process inside ``app``."""
    _APP[:] = [app]


def _in_app(work: Callable[[Session], T]) -> T | None:
    """Run ``work(session)`` in an application context; log failures by type only."""
    if not _APP:
        log.error("scheduler job ran before an application was bound")
        return None
    from app.extensions import db

    with _BUSY:
        _RUNNING[0] += 1
    try:
        with _APP[0].app_context():
            try:
                return work(db.session())
            except Exception as exc:
                # No message: a database error could echo parameters; the type and job suffice.
                log.error("scheduler job %s failed: %s", work.__name__, type(exc).__name__)
                db.session.rollback()
                return None
            finally:
                db.session.remove()
    finally:
        with _BUSY:
            _RUNNING[0] -= 1
            _BUSY.notify_all()


def wait_idle(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for this process's running jobs; True when none runs."""
    with _BUSY:
        return _BUSY.wait_for(lambda: _RUNNING[0] == 0, timeout)


def run_campaign(campaign_id: int, fire_time: datetime | None = None) -> None:
    """Start a run of campaign ``campaign_id`` (the campaign decides whether it is due)."""
    from app.campaigns.run import run_if_due

    def run_campaign_job(session: Session) -> None:
        run = run_if_due(session, campaign_id, fire_time or utcnow())
        if run is not None:
            log.info(
                "campaign %s: run %s recorded %s candidates", campaign_id, run.id, run.candidates
            )

    _in_app(run_campaign_job)


def sync_campaigns() -> None:
    """Reconcile the campaign jobs with the campaigns' states and schedules."""
    from app.campaigns.scheduler import active_scheduler, sync_campaign_jobs

    scheduler = active_scheduler()
    if scheduler is not None:
        _in_app(lambda session: sync_campaign_jobs(session, scheduler))


def refresh_runs() -> None:
    """Close runs whose messages are all settled (and complete their campaigns)."""
    from app.campaigns.run import refresh_open_runs

    _in_app(refresh_open_runs)


def expire_consents() -> None:
    """Record the expiry of consents past their date (in bounded batches)."""
    from app.ledger.consent import expire_due

    def expire_consents_job(session: Session) -> int:
        total, now = 0, utcnow()
        while (done := expire_due(session, now)) > 0:
            session.commit()
            total += done
            if done < 1000:
                break
        if total:
            log.info("expired %s consents", total)
        return total

    _in_app(expire_consents_job)


def sign_checkpoint() -> None:
    """Sign a checkpoint of the ledger if it grew since the last one."""
    from app.ledger.proofs import make_checkpoint

    def sign_checkpoint_job(session: Session) -> None:
        row = make_checkpoint(session, only_if_grown=True)
        if row is not None:
            log.info("checkpoint %s signed at size %s", row.id, row.tree_size)

    _in_app(sign_checkpoint_job)


def refit_values() -> None:
    """Refit the customer-value models when the last fit is older than ``VALUE_REFIT_DAYS``."""
    from app.marketing.value_service import refit_if_due

    def refit_values_job(session: Session) -> None:
        result = refit_if_due(session, utcnow())
        if result is not None:
            log.info("customer value: %s scored, fit %s", result.scored, result.fit_id)

    _in_app(refit_values_job)


def remind_requests() -> None:
    """Send the deadline reminders of data-subject requests that fell due."""
    from app.compliance.request_reminders import send_due_reminders

    def remind_requests_job(session: Session) -> None:
        sent = send_due_reminders(session, utcnow())
        if sent:
            log.info("sent %s request deadline reminders", sent)

    _in_app(remind_requests_job)


def recover() -> None:
    """After a takeover: finish interrupted runs, run recurring fires consumed but not run."""
    from app.campaigns.recovery import interrupted_runs, missed_fires
    from app.campaigns.run import execute_run

    for run_id in _in_app(interrupted_runs) or []:
        log.warning("run %s was interrupted; finishing it", run_id)
        _in_app(partial(execute_run, run_id=run_id))
    for campaign_id in _in_app(lambda session: missed_fires(session, utcnow())) or []:
        log.warning("campaign %s: its last fire has no run; running it now", campaign_id)
        run_campaign(campaign_id)
