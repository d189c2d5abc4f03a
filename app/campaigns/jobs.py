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

from app import logs
from app.campaigns.recovery import interrupted_runs, missed_fires
from app.campaigns.run import execute_run, refresh_open_runs, run_if_due
from app.extensions import db
from app.ledger.consent import expire_due
from app.ledger.proofs import make_checkpoint
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
#: The marketing and compliance packages' jobs, scheduled here by reference only (both sit
#: above campaigns).
REFIT_VALUES = "app.marketing.jobs:refit_values"
REMIND_REQUESTS = "app.compliance.jobs:remind_requests"
PURGE_RECORDS = "app.compliance.jobs:purge_records"


def bind_app(app: Flask) -> None:
    """Run every job of this process inside ``app``."""
    _APP[:] = [app]


def _job_name(work: Callable) -> str:
    """The name a job's log lines carry (``execute_run`` for ``partial(execute_run, …)``)."""
    target = getattr(work, "func", work)  # a partial names the function it wraps
    return getattr(target, "__name__", "job")


def in_app(work: Callable[[Session], T]) -> T | None:
    """Run ``work(session)`` in an application context; log failures by type only."""
    if not _APP:
        log.error("scheduler job ran before an application was bound")
        return None
    with _BUSY:
        _RUNNING[0] += 1
    try:
        with _APP[0].app_context(), logs.job(_job_name(work)):
            try:
                return work(db.session())
            except Exception as exc:
                # No message: a database error could echo parameters; the type and job suffice.
                log.error("scheduler job %s failed: %s", _job_name(work), type(exc).__name__)
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

    def run_campaign_job(session: Session) -> None:
        run = run_if_due(session, campaign_id, fire_time or utcnow())
        if run is not None:
            log.info(
                "campaign %s: run %s recorded %s candidates", campaign_id, run.id, run.candidates
            )

    in_app(run_campaign_job)


def sync_campaigns() -> None:
    """Reconcile the campaign jobs with the campaigns' states and schedules."""
    from app.campaigns.scheduler import active_scheduler, sync_campaign_jobs

    scheduler = active_scheduler()
    if scheduler is not None:
        in_app(lambda session: sync_campaign_jobs(session, scheduler))


def refresh_runs() -> None:
    """Close runs whose messages are all settled (and complete their campaigns)."""
    in_app(refresh_open_runs)


def expire_consents() -> None:
    """Record the expiry of consents past their date (in bounded batches)."""

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

    in_app(expire_consents_job)


def sign_checkpoint() -> None:
    """Sign a checkpoint of the ledger if it grew since the last one."""

    def sign_checkpoint_job(session: Session) -> None:
        row = make_checkpoint(session, only_if_grown=True)
        if row is not None:
            log.info("checkpoint %s signed at size %s", row.id, row.tree_size)

    in_app(sign_checkpoint_job)


def recover() -> None:
    """After a takeover: finish interrupted runs, run recurring fires consumed but not run."""
    for run_id in in_app(interrupted_runs) or []:
        log.warning("run %s was interrupted; finishing it", run_id)
        in_app(partial(execute_run, run_id=run_id))
    for campaign_id in in_app(lambda session: missed_fires(session, utcnow())) or []:
        log.warning("campaign %s: its last fire has no run; running it now", campaign_id)
        run_campaign(campaign_id)
