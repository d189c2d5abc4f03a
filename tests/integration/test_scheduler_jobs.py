"""Scheduler jobs: persisted across restarts, ids only, reconciled with campaigns, run."""

from __future__ import annotations

import gc
import pickle
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.campaigns import service
from app.campaigns.models import CampaignRun
from app.campaigns.scheduler import (
    PERIODIC_JOBS,
    SchedulerService,
    campaign_job_id,
    install_periodic_jobs,
    make_scheduler,
    sync_campaign_jobs,
)
from app.extensions import db
from app.models_base import utcnow
from app.settings import current_settings

TEMPLATE = {"subject": "Hi {{ first_name }}", "body_text": "Dear {{ first_name }}"}
SECRET_NAME = "Zebedee-Unique-Name"


@pytest.fixture
def fast_app(app_factory):
    """An application whose scheduler polls and syncs quickly; empties the job table after."""
    application = app_factory(
        SCHEDULER_LOCK_POLL_SECONDS=0.05, SCHEDULER_LOCK_TTL_SECONDS=0.6,
        SCHEDULER_HEARTBEAT_SECONDS=0.1, SCHEDULER_SYNC_SECONDS=0.2,
    )  # fmt: skip
    with application.app_context():
        yield application
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM apscheduler_jobs"))
    gc.collect()  # a connection left open by the scheduler fails this test, not a later one


def campaign(status="scheduled", **settings):
    values = {"name": "Holidays", "purpose": "offers", "channel": "email", "templates": [TEMPLATE]}
    values.update(settings)
    row = service.create_campaign(db.session, actor="marketer", **values)
    if status == "scheduled":
        service.schedule_campaign(db.session, row.id, actor="marketer")
    return row


def started(app):
    scheduler = make_scheduler(db.engine)
    scheduler.start(paused=True)
    return scheduler


def test_jobs_survive_a_restart_of_the_scheduler(fast_app):
    sale = campaign(schedule_kind="cron", cron="0 9 24 11 *", cron_timezone="Europe/Rome")
    first = started(fast_app)
    install_periodic_jobs(first, current_settings(fast_app))
    report = sync_campaign_jobs(db.session(), first)
    assert report.added == [sale.id]
    before = first.get_job(campaign_job_id(sale.id)).next_run_time
    first.shutdown()

    second = started(fast_app)
    try:
        job = second.get_job(campaign_job_id(sale.id))
        assert job is not None and job.next_run_time == before
        assert (job.next_run_time.hour, job.next_run_time.day, job.next_run_time.month) == (
            9,
            24,
            11,
        )
        assert set(PERIODIC_JOBS) <= {j.id for j in second.get_jobs()}
        assert sync_campaign_jobs(db.session(), second).added == []  # nothing to redo
    finally:
        second.shutdown()


def test_job_arguments_are_ids_only(fast_app):
    sale = campaign(name=SECRET_NAME, schedule_kind="cron", cron="0 9 * * 1", cron_timezone="UTC")
    scheduler = started(fast_app)
    install_periodic_jobs(scheduler, current_settings(fast_app))
    sync_campaign_jobs(db.session(), scheduler)
    scheduler.shutdown()
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, job_state FROM apscheduler_jobs")).all()
    assert rows
    for job_id, state in rows:
        assert SECRET_NAME.encode() not in state
        job = pickle.loads(state)  # noqa: S301 - our own job store, in a test
        assert all(isinstance(arg, int) for arg in job["args"]) and not job["kwargs"]
        if job_id == campaign_job_id(sale.id):
            assert job["args"] == (sale.id,)


def test_jobs_follow_the_campaigns_state(fast_app):
    later = utcnow() + timedelta(days=2)
    one_off = campaign(schedule_kind="at", scheduled_at=later)
    draft = campaign(status="draft")
    scheduler = started(fast_app)
    try:
        assert sync_campaign_jobs(db.session(), scheduler).added == [one_off.id]
        assert scheduler.get_job(campaign_job_id(draft.id)) is None
        assert scheduler.get_job(campaign_job_id(one_off.id)).next_run_time == later
        service.pause_campaign(db.session, one_off.id, actor="m")
        assert sync_campaign_jobs(db.session(), scheduler).removed == [one_off.id]
        service.resume_campaign(db.session, one_off.id, actor="m")
        assert sync_campaign_jobs(db.session(), scheduler).added == [one_off.id]
        service.cancel_campaign(db.session, one_off.id, actor="m")
        assert sync_campaign_jobs(db.session(), scheduler).removed == [one_off.id]
    finally:
        scheduler.shutdown()


def test_the_active_scheduler_runs_a_campaign_scheduled_now(fast_app):
    now_campaign = campaign(schedule_kind="now")
    scheduler_service = SchedulerService(fast_app)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler_service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        run_id = None
        while time.monotonic() < deadline and run_id is None:
            time.sleep(0.1)
            run_id = db.session.scalar(
                select(CampaignRun.id).where(CampaignRun.campaign_id == now_campaign.id)
            )
            db.session.rollback()
        assert run_id is not None, "the scheduler did not start the campaign's run"
    finally:
        stop.set()
        thread.join(20)
    assert service.get_campaign(db.session, now_campaign.id).status in ("running", "completed")
