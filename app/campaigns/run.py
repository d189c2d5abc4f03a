"""Campaign runs: resolve the audience set-wise, record every decision, fill the outbox.

A run streams ``resolve_audience`` in batches and, per batch and in its own transaction,
inserts one ``CampaignDecision`` per candidate and one ``OutboxEntry`` per recipient to
contact (allowed now, or deferred until ``defer_until``; held-out recipients are recorded and
not sent). Inserts ignore rows that exist (``(run_id, customer_id)`` and the idempotency key
``run:{run}:customer:{customer}:{channel}`` are unique), so executing a run again — after a
crash, or twice by mistake — completes it without duplicating anything. Memory stays bounded
by the batch size; counts are computed by the database at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from app.campaigns import states
from app.campaigns.checks import purpose_problem
from app.campaigns.models import Campaign, CampaignRun
from app.campaigns.offers import open_offers
from app.campaigns.run_batch import RunPlan, record_batch
from app.campaigns.run_counts import record_counts
from app.campaigns.schedule import FIRE_GRACE, last_fire_time
from app.campaigns.service import (
    HELD_MARK,
    campaign_templates,
    get_campaign,
    lock_campaign,
    transition,
)
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from app.policy_sets.in_force import refresh_policies
from app.transaction import transaction

log = logging.getLogger("assenso.campaigns")

BATCH_SIZE = 5000
OPEN_RUN_STATES = ("resolving", "sending")
T = TypeVar("T")


def start_run(
    session: Session,
    campaign: Campaign | int,
    at: datetime | None = None,
    *,
    actor: str = "scheduler",
) -> CampaignRun:
    """Start a run of a scheduled (or running recurring) campaign at ``at`` and execute it.

    A campaign whose purpose is not direct marketing under the policies in force is refused
    (:class:`~app.campaigns.states.CampaignRefused`): it goes back to draft (or is paused
    when a run is open), with the reason in its audit trail, and nothing is decided.
    """
    campaign_id = campaign if isinstance(campaign, int) else campaign.id
    run_id = _open_run(session, campaign_id, at or utcnow(), actor)
    assert run_id is not None  # only a scheduled fire can find its run already recorded
    return execute_run(session, run_id)


def _open_run(
    session: Session, campaign_id: int, moment: datetime, actor: str, *, fire: bool = False
) -> int | None:
    """Record a new run of the campaign at ``moment`` (locked); returns its id.

    With ``fire`` (the scheduler's fire at ``moment``), a run already recorded for it means
    there is nothing to do (``None``): a one-off campaign runs only from ``scheduled``, a
    recurring one once per fire time, whichever scheduler or late job asks.
    """
    refresh_policies()  # the set in force for this run, read before the run's writes
    with transaction(session):
        row = lock_campaign(session, campaign_id, None)
        if fire and _fired_already(session, row, moment):
            return None
        states.next_state("start", row.status)
        problem = purpose_problem(row.purpose)
        if problem is None:
            transition(session, row, "start", actor=actor, scheduled_for=moment.isoformat())
            run = CampaignRun(
                campaign_id=row.id, scheduled_for=moment, started_at=utcnow(), status="resolving"
            )
            session.add(run)
            session.flush()
            run_id = run.id
        else:
            action = "unschedule" if states.can("unschedule", row.status) else "pause"
            transition(session, row, action, actor=actor, refused=problem)
    if problem is not None:
        raise states.CampaignRefused(campaign_id, problem)
    return run_id


def _fired_already(session: Session, campaign: Campaign, moment: datetime) -> bool:
    """Whether the scheduler's fire at ``moment`` has its run (read under the campaign's lock)."""
    if campaign.schedule_kind != "cron":
        return campaign.status != "scheduled"
    return has_run_for(session, campaign.id, moment)


def execute_run(session: Session, run_id: int, *, batch_size: int = BATCH_SIZE) -> CampaignRun:
    """Resolve and record run ``run_id``; safe to call again on a run that was interrupted.

    Every decision is taken under the set in force when the run executes (and carries its
    hashes); the worker decides again under the set in force when it sends.
    """
    policy_set = refresh_policies()
    run = session.get(CampaignRun, run_id)
    if run is None or run.status not in OPEN_RUN_STATES:
        raise ValueError(f"run {run_id} is not open")
    campaign = get_campaign(session, run.campaign_id)
    plan = RunPlan.build(campaign, campaign_templates(session, campaign.id), run, policy_set)
    access_log = plan.open_access_log(session)
    offers = None
    if plan.uses_offer:  # purchase histories are read only when a template shows an offer
        offers = open_offers(session, plan.at, reason=f"next-best offers for run {run_id}")
    reader = Session(bind=session.get_bind())  # a long read of its own; writes commit per batch
    decrypted = 0
    try:
        for batch in _batched(plan.resolve(reader, batch_size), batch_size):
            with transaction(session):
                decrypted += record_batch(session, plan, batch, offers)
    finally:
        reader.close()
    with transaction(session):
        run = session.get_one(CampaignRun, run_id, populate_existing=True)
        record_counts(session, run)
        if access_log:
            plan.close_access_log(session, decrypted)
        if run.status == "resolving":
            run.status = "sending"
    refresh_run_status(session, run_id)
    return run


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def run_if_due(session: Session, campaign_id: int, at: datetime) -> CampaignRun | None:
    """The scheduler's entry point: run the campaign if its state and schedule call for it.

    One-off campaigns run once, from ``scheduled``; recurring ones once per fire time of
    their cron expression (the latest at or before ``at``, within :data:`FIRE_GRACE`), so a
    fire that a standby scheduler runs late after a takeover is still the same fire.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    recurring = campaign.schedule_kind == "cron"
    if campaign.status != "scheduled" and not (recurring and campaign.status == "running"):
        return None
    fire = at
    if recurring:
        last = last_fire_time(campaign.cron or "", campaign.cron_timezone, at, FIRE_GRACE)
        if last is None or has_run_for(session, campaign_id, last):
            return None
        fire = last
    session.rollback()
    try:
        run_id = _open_run(session, campaign_id, fire, "scheduler", fire=True)
    except states.CampaignRefused as refused:
        log.warning("%s", refused)  # the campaign left the schedule; its audit says why
        return None
    return None if run_id is None else execute_run(session, run_id)


def has_run_for(session: Session, campaign_id: int, fire: datetime) -> bool:
    query = select(CampaignRun.id).where(
        CampaignRun.campaign_id == campaign_id, CampaignRun.scheduled_for == fire
    )
    return session.scalar(query.limit(1)) is not None


def _open_outbox(run_id: int):
    return exists(
        select(OutboxEntry.id).where(
            OutboxEntry.run_id == run_id,
            or_(
                OutboxEntry.status.in_(("pending", "leased")),
                (OutboxEntry.status == "cancelled") & (OutboxEntry.last_error == HELD_MARK),
            ),
        )
    )


def refresh_run_status(session: Session, run_id: int) -> str:
    """Complete the run when none of its messages is pending, leased or held; returns status.

    When a campaign's last open run completes, a one-off campaign completes and a recurring
    one goes back to ``scheduled`` for its next fire time.
    """
    with transaction(session):
        run = session.get(CampaignRun, run_id, populate_existing=True)
        if run is None or run.status != "sending" or session.scalar(select(_open_outbox(run_id))):
            return run.status if run else "missing"
        run.status, run.finished_at = "completed", utcnow()
        campaign = lock_campaign(session, run.campaign_id, None)
        if campaign.status == "running" and not _other_open_runs(session, campaign.id, run_id):
            action = "await_next" if campaign.schedule_kind == "cron" else "finish"
            transition(session, campaign, action, actor="scheduler", run=run_id)
        return run.status


def _other_open_runs(session: Session, campaign_id: int, run_id: int) -> bool:
    query = select(CampaignRun.id).where(
        CampaignRun.campaign_id == campaign_id,
        CampaignRun.id != run_id,
        CampaignRun.status.in_(OPEN_RUN_STATES),
    )
    return session.scalar(query.limit(1)) is not None


def refresh_open_runs(session: Session) -> int:
    """Refresh every run that is sending; returns how many completed."""
    ids = list(session.scalars(select(CampaignRun.id).where(CampaignRun.status == "sending")))
    session.rollback()
    return sum(refresh_run_status(session, run_id) == "completed" for run_id in ids)
