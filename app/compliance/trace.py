""" "Why was this person contacted?": the decision trace of one message.

What the pipeline recorded is shown as recorded: the outbox entry (status, the deciding rule
and the policy hash), the audience decision of the campaign run, the ledger events the consent
rests on, and the send-time decision with its rule-by-rule trace exactly as the worker's
re-check produced it (:mod:`app.delivery.send_decisions`). Separately, and labelled as a
comparison, the page re-evaluates the same intent and moment on the customer's facts as they
are today with the policy now in force, and points out every rule whose result differs. The
intent is the one the re-check at claim decided (:func:`app.delivery.recheck.send_intent`):
the fields the campaign's templates require, and those they use only with a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignDecision
from app.campaigns.template_fields import TemplateError
from app.customers.models import Customer
from app.decisions.facts_db import FactsError, load_facts
from app.delivery.recheck import send_intent
from app.delivery.send_decisions import send_decision
from app.delivery.template_book import load_templates
from app.ledger.models import ConsentEvent
from app.ledger.records import ALL
from app.outbox.models import OutboxEntry
from app.policy import explain
from app.policy.decision import Decision
from app.policy_sets.in_force import policies_in_force


@dataclass(frozen=True)
class MessageTrace:
    """Everything known about why one message was (or was not) sent."""

    entry: OutboxEntry
    customer: Customer | None
    campaign: Campaign | None
    audience_decision: CampaignDecision | None
    consent_events: list[ConsentEvent]
    recomputed: Decision | None
    recompute_problem: str | None
    sent_decision: Decision | None = None
    decided_at: datetime | None = None
    stored_problem: str | None = None

    @property
    def differences(self) -> list[tuple[str, str | None, str | None]]:
        """(rule, status at send time, status today) for every rule judged differently."""
        if self.sent_decision is None or self.recomputed is None:
            return []
        then = {r.rule_id: r.status for r in self.sent_decision.trace}
        now = {r.rule_id: r.status for r in self.recomputed.trace}
        rules = list(then) + [rule for rule in now if rule not in then]
        return [
            (rule, then.get(rule), now.get(rule))
            for rule in rules
            if then.get(rule) != now.get(rule)
        ]

    @property
    def policy_changed(self) -> bool:
        """True when the policy in force now is not the one the recorded decision used."""
        return bool(
            self.recomputed
            and self.entry.policy_hash
            and self.recomputed.policy_hash != self.entry.policy_hash
        )


def message_trace(session: Session, outbox_id: int) -> MessageTrace | None:
    """The trace of outbox entry ``outbox_id``, or ``None`` when there is no such message."""
    entry = session.get(OutboxEntry, outbox_id)
    if entry is None:
        return None
    customer = session.get(Customer, entry.customer_id)
    campaign = session.get(Campaign, entry.campaign_id) if entry.campaign_id else None
    audience = None
    if entry.run_id is not None:
        audience = session.scalar(
            select(CampaignDecision).where(
                CampaignDecision.run_id == entry.run_id,
                CampaignDecision.customer_id == entry.customer_id,
            )
        )
    moment = entry.sent_at or entry.not_before or entry.created_at
    events: list[ConsentEvent] = []
    if customer is not None:
        events = list(
            session.scalars(
                select(ConsentEvent)
                .where(
                    ConsentEvent.customer_ref == customer.ref,
                    ConsentEvent.purpose.in_((entry.purpose, ALL)),
                    ConsentEvent.channel.in_((entry.channel, ALL)),
                    ConsentEvent.event_time <= moment,
                )
                .order_by(ConsentEvent.seq.desc())
                .limit(10)
            )
        )
    recomputed, problem = None, None
    if customer is None or customer.erased_at is not None:
        problem = "The customer was erased: their facts no longer exist to recompute from."
    else:
        recomputed, problem = _recompute(session, entry, customer, moment)
    stored, decided_at, stored_problem = None, None, None
    try:
        found = send_decision(session, entry.id)
    except ValueError as exc:
        stored_problem = f"The stored send-time trace cannot be read: {exc}."
    else:
        if found is not None:
            decided_at, stored = found
    return MessageTrace(
        entry=entry,
        customer=customer,
        campaign=campaign,
        audience_decision=audience,
        consent_events=events,
        recomputed=recomputed,
        recompute_problem=problem,
        sent_decision=stored,
        decided_at=decided_at,
        stored_problem=stored_problem,
    )


def _recompute(
    session: Session, entry: OutboxEntry, customer: Customer, moment: datetime
) -> tuple[Decision | None, str | None]:
    """Today's decision of the intent ``entry`` was decided on, or why there is none."""
    at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        intent = send_intent(entry, load_templates(session, [entry.campaign_id]), at)
    except TemplateError as exc:
        return None, f"The campaign's templates cannot be read: {exc}"
    try:
        facts = load_facts(session, [customer.id], at=at).get(customer.id)
    except FactsError as exc:
        return None, f"The customer's stored facts cannot be read: {exc}"
    if facts is None:
        return None, None
    return explain(policies_in_force(), facts, intent), None


def customer_messages(session: Session, customer_id: int, limit: int = 500) -> list[OutboxEntry]:
    """The customer's messages (any status), newest first."""
    return list(
        session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.customer_id == customer_id)
            .order_by(OutboxEntry.id.desc())
            .limit(limit)
        )
    )
