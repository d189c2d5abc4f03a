"""One batch of a run: segment matching, holdout and variants, decision and outbox rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audience import resolve_audience
from app.campaigns.assign import Assigner
from app.campaigns.models import Campaign, CampaignDecision, CampaignRun, CampaignTemplate
from app.campaigns.offers import RunOffers
from app.campaigns.schedule import next_local_time, parse_local_time
from app.campaigns.segments import Segment, SegmentContext, parse_segment
from app.campaigns.shared_values import shared_values
from app.campaigns.sql import insert_ignoring
from app.campaigns.template_sets import campaign_field_usage, templates_use, variant_weights
from app.customers.models import Customer
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from app.policy import Decision, PolicySet
from app.transaction import transaction
from app.vault.models import VaultAccess
from app.vault.service import log_access


def idempotency_key(run_id: int, customer_id: int, channel: str) -> str:
    """The outbox key of one recipient of one run: re-running the run never duplicates it."""
    return f"run:{run_id}:customer:{customer_id}:{channel}"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """Everything a run needs besides the candidates, fixed when the run executes."""

    run_id: int
    campaign_id: int
    purpose: str
    channel: str
    at: datetime
    template_fields: frozenset[str]
    fallback_fields: frozenset[str]
    segment: Segment
    assigner: Assigner
    local_time: time | None
    policy_set: PolicySet
    uses_offer: bool = False

    @classmethod
    def build(
        cls,
        campaign: Campaign,
        templates: Sequence[CampaignTemplate],
        run: CampaignRun,
        policy_set: PolicySet,
    ) -> RunPlan:
        """The plan of ``run`` of ``campaign`` with its ``templates``, decided under
        ``policy_set`` (the set in force when the run executes)."""
        local = campaign.local_time if campaign.schedule_kind == "local_time" else None
        usage = campaign_field_usage(templates)
        return cls(
            run_id=run.id,
            campaign_id=campaign.id,
            purpose=campaign.purpose,
            channel=campaign.channel,
            at=run.scheduled_for,
            template_fields=usage.required,
            fallback_fields=usage.fallback,
            segment=parse_segment(campaign.segment_json),
            assigner=Assigner.for_campaign(
                campaign.id, campaign.holdout_percent, variant_weights(templates) or {"A": 1}
            ),
            local_time=parse_local_time(local) if local else None,
            policy_set=policy_set,
            uses_offer=templates_use(templates, "offer"),
        )

    @property
    def context(self) -> SegmentContext:
        """The segment's view of this run."""
        return SegmentContext(self.purpose, self.channel, self.at)

    @property
    def access_actor(self) -> str:
        """The actor of this run's vault access-log entry."""
        return f"campaign-run:{self.run_id}"

    def resolve(self, reader: Session, batch_size: int) -> Iterator[tuple[int, Decision]]:
        """The audience of the segment with one policy decision per candidate (each a
        campaign message, never a relationship one)."""
        return resolve_audience(
            reader,
            purpose=self.purpose,
            channel=self.channel,
            at=self.at,
            template_fields=self.template_fields,
            fallback_fields=self.fallback_fields,
            policy_set=self.policy_set,
            candidate_filter=self.segment.candidate_filter(self.context),
            batch_size=batch_size,
        )

    def open_access_log(self, session: Session) -> bool:
        """Write this run's single access-log entry before anything is decrypted."""
        if not self.segment.shared_fields:
            return False
        with transaction(session):
            if session.scalar(select(VaultAccess.id).where(VaultAccess.actor == self.access_actor)):
                return True
            log_access(
                session,
                actor=self.access_actor,
                purpose=self.purpose,
                fields=self.segment.shared_fields,
                customer_count=0,
                reason=f"segment of campaign {self.campaign_id}",
            )
        return True

    def close_access_log(self, session: Session, decrypted: int) -> None:
        """Add the number of customers whose values were decrypted (caller's transaction)."""
        session.execute(
            update(VaultAccess)
            .where(VaultAccess.actor == self.access_actor)
            .values(customer_count=VaultAccess.customer_count + decrypted)
        )

    def not_before(self, decision: Decision, zone: str | None) -> datetime:
        """When the recipient's message may go: now, their local time, or the deferral."""
        moment = decision.defer_until if decision.deferred and decision.defer_until else self.at
        if self.local_time is not None:
            moment = max(moment, next_local_time(self.local_time, zone or "UTC", self.at))
        return moment


def record_batch(
    session: Session,
    plan: RunPlan,
    batch: Sequence[tuple[int, Decision]],
    offers: RunOffers | None = None,
) -> int:
    """Insert the decisions and outbox entries of ``batch``; returns customers decrypted.

    ``offers`` (loaded once per run when a template shows ``{{ offer }}``) gives each
    contactable customer who may be profiled their next-best offer in the entry's payload.
    """
    contactable = [cid for cid, decision in batch if not decision.denied]
    values = None
    if plan.segment.shared_fields:
        values = shared_values(session, contactable, plan.segment.shared_fields, plan.purpose)
    zones = _zones(session, contactable) if plan.local_time else {}
    now, context = utcnow(), plan.context
    decisions, outbox = [], []
    for customer_id, decision in batch:
        if not decision.denied and not _in_segment(plan, values, customer_id, context):
            continue
        holdout = not decision.denied and plan.assigner.in_holdout(customer_id)
        variant = None if decision.denied or holdout else plan.assigner.variant(customer_id)
        decisions.append(_decision_row(plan, customer_id, decision, variant, holdout, now))
        if variant is not None:
            outbox.append(_outbox_row(plan, customer_id, decision, variant, zones, now))
    if outbox and offers is not None:
        # Each customer's next-best offer (profiling consent checked per batch) travels in the
        # entry's payload, so the worker renders exactly what was chosen here.
        payloads = offers.payloads(
            session, [row["customer_id"] for row in outbox], campaign_id=plan.campaign_id
        )
        for row in outbox:
            row["payload_json"] = payloads.get(row["customer_id"])
    if decisions:
        session.execute(insert_ignoring(session, CampaignDecision.__table__), decisions)
    if outbox:
        session.execute(insert_ignoring(session, OutboxEntry.__table__), outbox)
    return len(values or ())


def _in_segment(plan: RunPlan, values, customer_id: int, context: SegmentContext) -> bool:
    return values is None or plan.segment.matches(values.get(customer_id, {}), context)


def _decision_row(plan, customer_id, decision: Decision, variant, holdout, now) -> dict:
    return {
        "run_id": plan.run_id,
        "customer_id": customer_id,
        "outcome": decision.outcome,
        "rule_id": decision.rule_id,
        "defer_until": decision.defer_until,
        "variant": variant,
        "holdout": holdout,
        "policy_hash": decision.policy_hash,
        "decided_at": now,
    }


def _outbox_row(plan, customer_id, decision: Decision, variant, zones, now) -> dict:
    return {
        "idempotency_key": idempotency_key(plan.run_id, customer_id, plan.channel),
        "kind": "campaign",
        "campaign_id": plan.campaign_id,
        "run_id": plan.run_id,
        "customer_id": customer_id,
        "channel": plan.channel,
        "purpose": plan.purpose,
        "variant": variant,
        "status": "pending",
        "attempts": 0,
        "not_before": plan.not_before(decision, zones.get(customer_id)),
        "decision_rule": decision.rule_id,
        "policy_hash": decision.policy_hash,
        "created_at": now,
    }


def _zones(session: Session, customer_ids: Sequence[int]) -> dict[int, str]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.timezone).where(Customer.id.in_(list(customer_ids)))
    )
    return {customer_id: zone for customer_id, zone in rows}
