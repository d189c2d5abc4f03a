"""What a scheduler finds when it takes over: the work the one before it left undone.

A scheduler killed at any moment (``kill -9``, a lost machine) can leave two things behind:

- a run still ``resolving``, its audience half recorded: :func:`~app.campaigns.run.execute_run`
  is safe to repeat, so the new scheduler finishes it;
- a recurring campaign's fire that APScheduler had taken from the job store (it moves a job's
  next run time on as it hands the job to a thread, before the job runs) but whose run was
  never recorded: the new scheduler runs that fire, when it lies within
  :data:`~app.campaigns.schedule.FIRE_GRACE` and the campaign was scheduled, unchanged,
  before it.

A one-off campaign needs nothing: while it is ``scheduled`` the scheduler's reconciliation
gives it a job again. Every run is recorded under the campaign's lock, once per fire, so finding
work that is in fact done changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignRun
from app.campaigns.run import has_run_for
from app.campaigns.schedule import FIRE_GRACE, last_fire_time


def interrupted_runs(session: Session) -> list[int]:
    """Runs left ``resolving`` (their audience not fully recorded), oldest first."""
    query = select(CampaignRun.id).where(CampaignRun.status == "resolving")
    return list(session.scalars(query.order_by(CampaignRun.id)))


def missed_fires(session: Session, now: datetime) -> list[int]:
    """Recurring campaigns whose latest fire has no run though they were scheduled before it."""
    campaigns = session.scalars(
        select(Campaign).where(
            Campaign.schedule_kind == "cron", Campaign.status.in_(("scheduled", "running"))
        )
    )
    missed = []
    for campaign in campaigns:
        fire = last_fire_time(campaign.cron or "", campaign.cron_timezone, now, FIRE_GRACE)
        if fire is None or campaign.updated_at >= fire:
            continue  # no fire due, or the campaign changed (was scheduled) after it
        if not has_run_for(session, campaign.id, fire):
            missed.append(campaign.id)
    return missed
