"""Campaign results per variant against the holdout group: unsubscribes and conversions.

Built on :func:`~app.campaigns.reports.campaign_report` (sent, delivered, bounced per
variant) and adds, per group (each variant and ``holdout``), in aggregate only:

- **unsubscribed after this message**: recipients whose consent for the campaign's purpose
  and channel is withdrawn, or who objected, after the message was sent to them;
- **conversions**: customers with a purchase within ``window_days`` after their run's time.
  Purchases are read from the purchase history, so only customers who may be profiled
  (:mod:`app.marketing.eligibility`) are *measurable*; the rate is converted / measurable,
  for the variants and for the holdout alike. One vault access-log entry per computation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.campaigns.models import CampaignDecision, CampaignRun
from app.campaigns.reports import campaign_report
from app.customers.models import Customer
from app.ledger.models import ConsentState
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE, histories, profiled_ids
from app.marketing.value import parse_purchases
from app.outbox.models import OutboxEntry
from app.transaction import transaction
from app.vault.service import log_access

HOLDOUT = "holdout"
WINDOW_DAYS = 14
ACTOR = "marketing:campaign-results"


@dataclass(frozen=True, slots=True)
class Conversions:
    """Conversions of one group: members, measurable members, converted, rate (0-1)."""

    group: str
    members: int
    measurable: int
    converted: int

    @property
    def rate(self) -> float:
        """Converted share of the measurable members (0 when none is measurable)."""
        return self.converted / self.measurable if self.measurable else 0.0


def unsubscribed_after(session: Session, campaign_id: int, purpose: str, channel: str) -> dict:
    """``{variant: n}`` recipients who withdrew (or objected) after their message was sent."""
    o, s = OutboxEntry, ConsentState
    withdrew = and_(s.status == "withdrawn", s.updated_at >= o.sent_at)
    objected = Customer.objected_at >= o.sent_at
    query = (
        select(o.variant, func.count(func.distinct(o.customer_id)))
        .join(Customer, Customer.id == o.customer_id)
        .outerjoin(
            s, and_(s.customer_id == o.customer_id, s.purpose == purpose, s.channel == channel)
        )
        .where(o.campaign_id == campaign_id, o.status == "sent", or_(withdrew, objected))
        .group_by(o.variant)
    )
    return {variant: n for variant, n in session.execute(query)}


def _groups(session: Session, campaign_id: int) -> dict[int, tuple[str, datetime]]:
    """``{customer: (group, run time)}`` of every recipient and holdout member (latest run)."""
    d, r = CampaignDecision, CampaignRun
    query = (
        select(d.customer_id, d.variant, d.holdout, r.scheduled_for)
        .join(r, r.id == d.run_id)
        .where(r.campaign_id == campaign_id, or_(d.holdout.is_(True), d.variant.is_not(None)))
        .order_by(r.scheduled_for)
    )
    groups = {}
    for customer_id, variant, holdout, at in session.execute(query):
        groups[customer_id] = (HOLDOUT if holdout else variant, at)
    return groups


def conversions(
    session: Session, campaign_id: int, window_days: int = WINDOW_DAYS
) -> list[Conversions]:
    """Conversions per group (variants in order, then ``holdout``)."""
    groups = _groups(session, campaign_id)
    members: dict[str, int] = defaultdict(int)
    for group, _ in groups.values():
        members[group] += 1
    measurable_ids = profiled_ids(session, among=list(groups)) if groups else []
    measurable: dict[str, int] = defaultdict(int)
    converted: dict[str, int] = defaultdict(int)
    window = timedelta(days=window_days)
    for customer_id, raw in histories(session, measurable_ids):
        group, start = groups[customer_id]
        measurable[group] += 1
        if any(start <= p.at < start + window for p in parse_purchases(raw)):
            converted[group] += 1
    if measurable_ids:
        with transaction(session):
            log_access(
                session,
                actor=ACTOR,
                purpose=PROFILING_PURPOSE,
                fields=[HISTORY_FIELD],
                customer_count=len(measurable_ids),
                reason=f"conversions of campaign {campaign_id}",
            )
    order = sorted(g for g in members if g != HOLDOUT) + ([HOLDOUT] if HOLDOUT in members else [])
    return [Conversions(g, members[g], measurable[g], converted[g]) for g in order]


def campaign_results(session: Session, campaign, window_days: int = WINDOW_DAYS) -> dict:
    """The campaign report plus unsubscribes per variant and conversions per group."""
    report = campaign_report(session, campaign.id)
    unsubscribed = unsubscribed_after(session, campaign.id, campaign.purpose, campaign.channel)
    for variant, row in report["variants"].items():
        row["unsubscribed"] = unsubscribed.get(variant, 0)
    report["unsubscribed"] = sum(unsubscribed.values())
    report["conversions"] = conversions(session, campaign.id, window_days)
    report["window_days"] = window_days
    return report
