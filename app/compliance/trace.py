""" "Why was this person contacted?": the decision trace of one message.

What the pipeline recorded is shown as recorded: the outbox entry (status, the deciding rule
and the policy hash of the send-time re-check), the audience decision of the campaign run,
and the ledger events the consent rests on. The rule-by-rule trace is recomputed with the
policy engine's ``explain`` for the same intent and moment, on the customer's facts as they are
now and the policy now in force; the page says so, and flags when that policy's hash differs
from the recorded one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignDecision
from app.customers.models import Customer
from app.decisions.facts_db import FactsError, load_facts
from app.ledger.models import ConsentEvent
from app.ledger.records import ALL
from app.outbox.models import OutboxEntry
from app.policy import Intent, explain
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
        at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        # The outbox carries campaign messages only (relationship messages never pass through it).
        intent = Intent(entry.purpose, entry.channel, at, frozenset())
        try:
            facts = load_facts(session, [customer.id], at=at).get(customer.id)
        except FactsError as exc:
            facts, problem = None, f"The customer's stored facts cannot be read: {exc}"
        if facts is not None:
            recomputed = explain(policies_in_force(), facts, intent)
    return MessageTrace(
        entry=entry,
        customer=customer,
        campaign=campaign,
        audience_decision=audience,
        consent_events=events,
        recomputed=recomputed,
        recompute_problem=problem,
    )


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
