"""``flask scheduler``: run the one active campaign scheduler, list its jobs.

Start as many ``flask scheduler run`` processes as you like: one holds the database lock and
schedules; the others wait and take over when it stops or dies.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

import click
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from flask import current_app

from app import background
from app.campaigns import jobs
from app.campaigns.scheduler import (
    JOBSTORE_TABLE,
    SchedulerService,
    make_scheduler,
    start_background,
)
from app.extensions import db

log = logging.getLogger("assenso.scheduler")


@click.group("scheduler", help="Campaign scheduler: one active process, others on standby.")
def group() -> None:
    """Command group for the campaign scheduler."""


@group.command("run")
def run_command() -> None:
    """Wait for the scheduler lock, then schedule campaigns and periodic jobs until stopped."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    service = SchedulerService(app)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("scheduler %s starting", service.lock.holder)

    def waiting() -> None:
        log.info("another scheduler is active; waiting to take over")

    try:
        service.run(stop, on_wait=waiting)
    except KeyboardInterrupt:
        stop.set()
    if not jobs.wait_idle(0):  # the service waited its grace time already
        # A campaign run still resolving is finished by the next active scheduler
        # (recording a run is safe to repeat); its open transaction is rolled back.
        log.warning("scheduler stopped; a job still running is left to the next one")
        logging.shutdown()  # written before the exit skips the interpreter's own flush
        os._exit(0)  # the executor's threads would otherwise be joined at exit
    log.info("scheduler stopped")


@group.command("jobs")
def jobs_command() -> None:
    """List the stored jobs (ids, triggers, next run times) without starting a scheduler."""
    jobs = []
    if _table_exists():
        store = SQLAlchemyJobStore(engine=db.engine, tablename=JOBSTORE_TABLE)
        store.start(make_scheduler(db.engine), "default")
        jobs = store.get_all_jobs()
    if not jobs:
        click.echo("No stored jobs.")
    for job in jobs:
        when = job.next_run_time.isoformat() if job.next_run_time else "paused"
        click.echo(f"{job.id:28} next {when:32} {job.trigger}")


def _table_exists() -> bool:
    from sqlalchemy import inspect

    return inspect(db.engine).has_table(JOBSTORE_TABLE)


background.register("scheduler", start_background)
