"""Campaign reports and live run progress: aggregates only, never people.

``eligible`` are candidates the policy allowed or deferred (holdout included); ``sent`` are
messages handed to the relay; ``bounced`` are failed messages whose address was suppressed as
bounced, plus sent ones bounced later; ``delivered`` is sent minus later bounces (no
delivery receipts are tracked beyond the relay's acceptance).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignDecision, CampaignRun
from app.campaigns.run_counts import decision_counts
from app.campaigns.service import HELD_MARK
from app.outbox.models import OutboxEntry, Suppression


def _bounced():
    return exists(
        select(Suppression.customer_id).where(
            Suppression.customer_id == OutboxEntry.customer_id,
            Suppression.channel == OutboxEntry.channel,
            Suppression.reason == "bounce",
        )
    )


def outbox_counts(session: Session, *, campaign_id: int | None = None, run_id: int | None = None):
    """``{(variant, state): count}`` of a campaign's or run's outbox entries.

    States are the outbox statuses, with ``held`` (paused), ``bounced`` (failed and
    suppressed) and ``sent_bounced`` (sent, bounced later) split out.
    """
    o = OutboxEntry
    scope = o.run_id == run_id if run_id is not None else o.campaign_id == campaign_id
    rows = (
        select(
            o.variant.label("variant"),
            o.status.label("status"),
            func.coalesce(o.last_error == HELD_MARK, False).label("held"),
            _bounced().label("bounced"),
        )
        .where(scope)
        .subquery()
    )
    state = select(
        rows.c.variant, rows.c.status, rows.c.held, rows.c.bounced, func.count()
    ).group_by(rows.c.variant, rows.c.status, rows.c.held, rows.c.bounced)
    counts: dict[tuple[str | None, str], int] = defaultdict(int)
    for variant, status, held, bounced, count in session.execute(state):
        if status == "cancelled" and held:
            status = "held"
        elif status == "failed" and bounced:
            status = "bounced"
        elif status == "sent" and bounced:
            status = "sent_bounced"
        counts[(variant, status)] += count
    return counts


def _summary(counts) -> dict[str, int]:
    by_state: dict[str, int] = defaultdict(int)
    for (_, state), count in counts.items():
        by_state[state] += count
    sent = by_state["sent"] + by_state["sent_bounced"]
    return {
        "sent": sent,
        "delivered": by_state["sent"],
        "bounced": by_state["bounced"] + by_state["sent_bounced"],
        "failed": by_state["failed"],
        "waiting": by_state["pending"] + by_state["leased"],
        "held": by_state["held"],
        "cancelled": by_state["cancelled"],
        "denied_at_send": by_state["denied"],
    }


def campaign_report(session: Session, campaign: Campaign | int) -> dict:
    """The campaign's results over all its runs: audience, outcomes, deliveries, variants."""
    campaign_id = campaign if isinstance(campaign, int) else campaign.id
    run_ids = list(
        session.scalars(select(CampaignRun.id).where(CampaignRun.campaign_id == campaign_id))
    )
    decided = decision_counts(session, run_ids)
    outcomes = decided["outcomes"]
    outbox = outbox_counts(session, campaign_id=campaign_id)
    variants = {}
    for variant, assigned in decided["variants"].items():
        mine = {key: n for key, n in outbox.items() if key[0] == variant}
        variants[variant] = {"assigned": assigned, **_summary(mine)}
    return {
        "campaign_id": campaign_id,
        "runs": len(run_ids),
        "candidates": decided["candidates"],
        "eligible": outcomes.get("allow", 0) + outcomes.get("defer", 0),
        "deferred": outcomes.get("defer", 0),
        "denied": outcomes.get("deny", 0),
        "denied_by_rule": decided["rules"]["deny"],
        "deferred_by_rule": decided["rules"]["defer"],
        "holdout": decided["holdout"],
        **_summary(outbox),
        "variants": variants,
    }


def run_progress(session: Session, run_id: int) -> dict:
    """Live progress of one run: decisions recorded so far and where its messages are."""
    run = session.get(CampaignRun, run_id)
    if run is None:
        return {"run_id": run_id, "status": "missing"}
    decided = session.scalar(
        select(func.count()).select_from(CampaignDecision).where(CampaignDecision.run_id == run_id)
    )
    counts = outbox_counts(session, run_id=run_id)
    summary = _summary(counts)
    queued = sum(counts.values())
    settled = queued - summary["waiting"] - summary["held"]
    return {
        "run_id": run_id,
        "campaign_id": run.campaign_id,
        "status": run.status,
        "label": run_label(run.status, summary["cancelled"], queued),
        "scheduled_for": run.scheduled_for.isoformat() if run.scheduled_for else None,
        "decisions": decided or 0,
        "messages": queued,
        "settled": settled,
        "percent_settled": round(100 * settled / queued, 1) if queued else 100.0,
        **summary,
    }


def run_label(status: str, cancelled: int, messages: int) -> str:
    """How a run's state reads to a marketer: a run whose messages were all cancelled is
    ``cancelled``, one with some cancelled says how many."""
    if cancelled and cancelled == messages and status == "completed":
        return "cancelled"
    if cancelled:
        return f"{status}, {cancelled} cancelled before sending"
    return status


def campaign_progress(session: Session, campaign: Campaign, limit: int = 10) -> dict:
    """The campaign's state and the progress of its newest runs (newest first)."""
    run_ids = session.scalars(
        select(CampaignRun.id)
        .where(CampaignRun.campaign_id == campaign.id)
        .order_by(CampaignRun.id.desc())
        .limit(limit)
    ).all()
    return {
        "campaign_id": campaign.id,
        "status": campaign.status,
        "runs": [run_progress(session, run_id) for run_id in run_ids],
    }
