"""A scheduler that takes over runs every scheduled fire once: none skipped, none doubled."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.campaigns import jobs
from app.campaigns.models import CampaignRun
from app.campaigns.recovery import interrupted_runs, missed_fires
from app.campaigns.run import run_if_due
from app.campaigns.scheduler import PERIODIC_JOBS, install_periodic_jobs
from app.extensions import db
from app.models_base import utcnow
from app.settings import current_settings
from tests.integration.test_scheduler_jobs import campaign, fast_app, started

__all__ = ["fast_app"]  # the fixture, shared with the scheduler's job tests


def _runs(campaign_id: int) -> list[CampaignRun]:
    query = select(CampaignRun).where(CampaignRun.campaign_id == campaign_id)
    return list(db.session.scalars(query.order_by(CampaignRun.id)))


def test_a_recurring_fire_run_late_is_the_same_fire(fast_app):
    """The fire is named by the cron expression, not by the clock of the scheduler that runs
    it: the standby running the 10:00 fire at 10:01:10 finds its run and adds none."""
    hourly = campaign(schedule_kind="cron", cron="0 * * * *", cron_timezone="UTC")
    fire = (utcnow() + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    first = run_if_due(db.session(), hourly.id, fire + timedelta(seconds=1))
    assert first is not None and first.scheduled_for == fire
    assert run_if_due(db.session(), hourly.id, fire + timedelta(minutes=1, seconds=10)) is None
    assert [run.scheduled_for for run in _runs(hourly.id)] == [fire]
    later = run_if_due(db.session(), hourly.id, fire + timedelta(hours=1, seconds=3))
    assert later is not None and later.scheduled_for == fire + timedelta(hours=1)


def test_a_one_off_campaign_runs_once_however_often_its_job_fires(fast_app):
    once = campaign(schedule_kind="now")
    assert run_if_due(db.session(), once.id, utcnow()) is not None
    assert run_if_due(db.session(), once.id, utcnow()) is None
    assert len(_runs(once.id)) == 1


def test_a_fire_taken_from_the_job_store_but_never_run_is_found_and_run_once(fast_app):
    """APScheduler moves a job's next run time on before the job runs: a scheduler killed in
    between leaves a fire with no run, which the next one finds and runs, once."""
    every_minute = campaign(schedule_kind="cron", cron="* * * * *", cron_timezone="UTC")
    later = campaign(schedule_kind="cron", cron="* * * * *", cron_timezone="UTC")
    moment = utcnow() + timedelta(minutes=3)
    db.session.rollback()
    assert set(missed_fires(db.session(), moment)) == {every_minute.id, later.id}
    assert run_if_due(db.session(), every_minute.id, moment) is not None
    assert missed_fires(db.session(), moment) == [later.id]
    assert missed_fires(db.session(), utcnow()) == []  # scheduled after this minute's fire


def test_a_run_left_resolving_is_finished_by_the_next_scheduler(fast_app):
    once = campaign(schedule_kind="now")
    run = run_if_due(db.session(), once.id, utcnow())
    db.session.execute(
        CampaignRun.__table__.update().where(CampaignRun.id == run.id).values(status="resolving")
    )
    db.session.commit()
    assert interrupted_runs(db.session()) == [run.id]
    jobs.bind_app(fast_app)
    jobs.recover()
    db.session.rollback()
    assert interrupted_runs(db.session()) == []
    assert db.session.scalar(select(func.count()).select_from(CampaignRun)) == 1


def test_a_new_leader_keeps_the_periodic_jobs_next_run_times(fast_app):
    """A takeover neither restarts the periodic jobs' periods (which would skip runs after
    every failover) nor runs them early."""
    first = started(fast_app)
    install_periodic_jobs(first, current_settings(fast_app), now=utcnow() - timedelta(seconds=20))
    before = {job.id: job.next_run_time for job in first.get_jobs()}
    first.shutdown()
    second = started(fast_app)
    try:
        install_periodic_jobs(second, current_settings(fast_app))
        after = {job.id: job.next_run_time for job in second.get_jobs()}
    finally:
        second.shutdown()
    kept = set(PERIODIC_JOBS) - {"campaigns:sync", "campaigns:refresh-runs"}  # 30 s: due
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    assert after["campaigns:sync"] > before["campaigns:sync"]  # the reconciliation runs at once
