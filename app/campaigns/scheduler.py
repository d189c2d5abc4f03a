"""The campaign scheduler: APScheduler 3 with a persistent job store, one active process.

Jobs live in the application database (table :data:`JOBSTORE_TABLE`, created by a migration;
the scheduler creates no table, so it runs under a database role that may not), so schedules
and their next fire times survive restarts. Every scheduler process runs
:meth:`SchedulerService.run`: it waits for the database lock (:mod:`app.campaigns.lock`), then
schedules until it stops or loses the lock; another process waiting on the lock takes over.
Campaigns are not added to the job store by the web process: the active scheduler reconciles
jobs with the campaigns table every few seconds (:func:`sync_campaign_jobs`), so any process
may schedule, pause or cancel a campaign.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from app.campaigns import jobs
from app.campaigns.lock import LeaderLock, lock_for
from app.campaigns.models import SCHEDULER_JOBS, Campaign
from app.campaigns.schedule import FIRE_GRACE, cron_trigger
from app.models_base import utcnow
from app.settings import Settings, current_settings

log = logging.getLogger("assenso.scheduler")

JOBSTORE_TABLE = SCHEDULER_JOBS.name
CAMPAIGN_JOB_PREFIX = "campaign:"
#: Periodic jobs: id -> (function reference, the setting with its period in seconds).
PERIODIC_JOBS = {
    "campaigns:sync": (jobs.SYNC_CAMPAIGNS, "scheduler_sync_seconds"),
    "campaigns:refresh-runs": (jobs.REFRESH_RUNS, "scheduler_refresh_seconds"),
    "ledger:expire-consents": (jobs.EXPIRE_CONSENTS, "scheduler_expiry_seconds"),
    "ledger:checkpoint": (jobs.SIGN_CHECKPOINT, "scheduler_checkpoint_seconds"),
    "marketing:refit-values": (jobs.REFIT_VALUES, "scheduler_value_check_seconds"),
    "compliance:request-reminders": (jobs.REMIND_REQUESTS, "scheduler_reminder_seconds"),
    "compliance:purge-records": (jobs.PURGE_RECORDS, "scheduler_purge_seconds"),
}
_ACTIVE: list[BaseScheduler] = []


def active_scheduler() -> BaseScheduler | None:
    """The APScheduler instance of this process while it holds the lock, else ``None``."""
    return _ACTIVE[0] if _ACTIVE else None


class _JobStore(SQLAlchemyJobStore):
    """The SQLAlchemy job store on an engine of its own, disposed only once the scheduler's
    thread has stopped (APScheduler disposes the engine before joining that thread, which can
    orphan the connection of a query still running), on the table the migrations created."""

    def start(self, scheduler, alias) -> None:
        """Start without creating the table (``SQLAlchemyJobStore.start`` would try to)."""
        BaseJobStore.start(self, scheduler, alias)

    def shutdown(self) -> None:
        """Leave the engine to :meth:`AssensoScheduler.shutdown`."""


class AssensoScheduler(BackgroundScheduler):
    """A background scheduler that releases its job store's connections after it stopped."""

    def shutdown(self, *args, **kwargs) -> None:
        """Stop the scheduler (joining its thread), then close the job store's connections."""
        stores = list(self._jobstores.values())
        super().shutdown(*args, **kwargs)
        for store in stores:
            store.engine.dispose()


def jobstore_engine(engine: Engine) -> Engine:
    """A small engine of its own for the job store, to ``engine``'s database.

    Disposing it never touches the connections the application's requests and workers hold.
    """
    if engine.dialect.name == "sqlite":
        return create_engine(engine.url, connect_args={"timeout": 10})
    return create_engine(engine.url, pool_size=2, max_overflow=2, pool_pre_ping=True)


def make_scheduler(engine: Engine, workers: int = 4) -> AssensoScheduler:
    """A (not started) scheduler whose jobs are stored in ``engine``'s database.

    A job due while no scheduler was active runs once when one is (``coalesce``), up to
    :data:`FIRE_GRACE` late.
    """
    store = _JobStore(engine=jobstore_engine(engine), tablename=JOBSTORE_TABLE)
    grace = int(FIRE_GRACE.total_seconds())
    return AssensoScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        timezone=UTC,
    )


def install_periodic_jobs(
    scheduler: BaseScheduler, settings: Settings, now: datetime | None = None
) -> None:
    """Add the periodic jobs, keeping those stored with the same period; sync runs at once.

    A stored job keeps its next run time across a takeover, so a new scheduler neither skips
    nor repeats a period (a run it missed runs once, at once).
    """
    start = now or utcnow()
    for job_id, (func, period_setting) in PERIODIC_JOBS.items():
        seconds: float = getattr(settings, period_setting)
        stored = scheduler.get_job(job_id)
        period = timedelta(seconds=seconds)
        if job_id != "campaigns:sync" and stored is not None and stored.trigger.interval == period:
            continue
        first = start if job_id == "campaigns:sync" else start + timedelta(seconds=seconds)
        trigger = IntervalTrigger(seconds=seconds, timezone=UTC)
        scheduler.add_job(
            func, trigger, id=job_id, name=job_id, replace_existing=True, next_run_time=first
        )


def campaign_job_id(campaign_id: int) -> str:
    """The job-store id of a campaign's job."""
    return f"{CAMPAIGN_JOB_PREFIX}{campaign_id}"


def campaign_trigger(campaign: Campaign, now: datetime):
    """The trigger a campaign needs now, or ``None`` when it needs no job."""
    if campaign.schedule_kind == "cron" and campaign.status in ("scheduled", "running"):
        return cron_trigger(campaign.cron or "", campaign.cron_timezone)
    if campaign.status != "scheduled" or campaign.schedule_kind == "cron":
        return None
    when = campaign.scheduled_at if campaign.schedule_kind in ("at", "local_time") else None
    return DateTrigger(run_date=max(when or now, now), timezone=UTC)


@dataclass
class SyncReport:
    """What one reconciliation changed (campaign ids)."""

    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


def sync_campaign_jobs(
    session: Session, scheduler: BaseScheduler, now: datetime | None = None
) -> SyncReport:
    """Make the job store match the campaigns: add, replace (new version) or remove jobs."""
    moment = now or utcnow()
    report = SyncReport()
    existing = {j.id: j for j in scheduler.get_jobs() if j.id.startswith(CAMPAIGN_JOB_PREFIX)}
    rows = session.scalars(select(Campaign).where(Campaign.status.in_(("scheduled", "running"))))
    wanted: set[str] = set()
    for campaign in rows:
        trigger = campaign_trigger(campaign, moment)
        if trigger is None:
            continue
        job_id, name = campaign_job_id(campaign.id), f"campaign {campaign.id} v{campaign.version}"
        wanted.add(job_id)
        if job_id in existing and existing[job_id].name == name:
            continue
        # A one-off campaign runs however late; a recurring one's fire within FIRE_GRACE.
        grace = int(FIRE_GRACE.total_seconds()) if campaign.schedule_kind == "cron" else None
        scheduler.add_job(
            jobs.RUN_CAMPAIGN,
            trigger,
            args=[campaign.id],
            id=job_id,
            name=name,
            replace_existing=True,
            misfire_grace_time=grace,
        )
        report.added.append(campaign.id)
    for job_id in existing.keys() - wanted:
        scheduler.remove_job(job_id)
        report.removed.append(int(job_id.removeprefix(CAMPAIGN_JOB_PREFIX)))
    session.rollback()  # end the read transaction; nothing was written through the session
    return report


class SchedulerService:
    """One scheduler process: wait for the lock, schedule while holding it, hand over."""

    def __init__(self, app: Flask, lock: LeaderLock | None = None) -> None:
        """Prepare for ``app``; the lock defaults to the one matching its database."""
        from app.extensions import db

        self.app = app
        self.settings = current_settings(app)
        with app.app_context():
            self.engine = db.engine
        ttl = self.settings.scheduler_lock_ttl_seconds
        self.lock = lock or lock_for(self.engine, ttl_seconds=ttl)
        self.poll_seconds = self.settings.scheduler_lock_poll_seconds
        self.heartbeat_seconds = self.settings.scheduler_heartbeat_seconds
        self.stop_grace_seconds = self.settings.scheduler_stop_grace_seconds
        self.scheduler: BaseScheduler | None = None
        self.active = threading.Event()

    def run(self, stop: threading.Event, on_wait: Callable[[], None] | None = None) -> None:
        """Until ``stop`` is set: wait for the lock, then schedule while it is held."""
        waited = False
        while not stop.is_set():
            if self.lock.try_acquire():
                self._lead(stop)
                waited = False
                continue
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            stop.wait(self.poll_seconds)

    def _lead(self, stop: threading.Event) -> None:
        log.info("scheduler %s is now the active scheduler", self.lock.holder)
        scheduler = make_scheduler(self.engine)
        jobs.bind_app(self.app)
        takeover = None
        try:
            scheduler.start(paused=True)
            install_periodic_jobs(scheduler, self.settings)
            self.scheduler, _ACTIVE[:] = scheduler, [scheduler]
            scheduler.resume()
            self.active.set()
            # The work a scheduler that died left undone, beside the schedule (not a stored
            # job: it is this leader's own, found again by the next one if this one dies).
            takeover = threading.Thread(target=jobs.recover, name="assenso-takeover", daemon=True)
            takeover.start()
            while not stop.wait(self.heartbeat_seconds):
                if not self.lock.still_held():
                    log.warning("scheduler %s lost the lock; standing by", self.lock.holder)
                    break
        finally:
            self.active.clear()
            _ACTIVE.clear()
            self.scheduler = None
            if scheduler.running:
                scheduler.shutdown(wait=False)
            self._let_jobs_finish(takeover)
            self.lock.release()

    def _let_jobs_finish(self, takeover: threading.Thread | None) -> None:
        """Give running jobs up to ``stop_grace_seconds`` to finish before the lock goes.

        A job still running then (a large campaign run) is finished by the next leader:
        recording a run is safe to repeat.
        """
        deadline = time.monotonic() + self.stop_grace_seconds
        if takeover is not None:
            takeover.join(self.stop_grace_seconds)
        if not jobs.wait_idle(max(0.0, deadline - time.monotonic())):
            log.warning("scheduler %s stops with a job still running", self.lock.holder)


def start_background(app: Flask) -> Callable[[], None]:
    """Start a scheduler service in a daemon thread (``flask serve``); returns its stop."""
    service = SchedulerService(app)
    stop = threading.Event()
    thread = threading.Thread(
        target=service.run, args=(stop,), name="assenso-scheduler", daemon=True
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=60)

    return halt
