"""The send-time policy re-check of a claimed batch (fail closed).

Entries are grouped by (purpose, channel, template fields) so each group is one set-wise call
of :func:`app.decisions.send_check.decide_batch_at_send`, all under the set in force for the batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.decisions.send_check import decide_batch_at_send
from app.delivery.templates import TemplateBook
from app.policy import Decision, Intent

log = logging.getLogger("assenso.delivery")

POLICY_ERROR = "policy_error"


def _denial(explanation: str) -> Decision:
    return Decision("deny", POLICY_ERROR, explanation, "")


def recheck(
    session: Session, entries: Sequence, templates: TemplateBook, now: datetime
) -> dict[int, Decision]:
    """The decision for each entry id; any failure to decide denies (never sends)."""
    groups: dict[Intent, list] = defaultdict(list)
    for entry in entries:
        # Every outbox entry is a campaign message, whatever its kind says: the customer's own
        # relationship messages never pass through the outbox (app.delivery.transactional).
        intent = Intent(
            purpose=entry.purpose,
            channel=entry.channel,
            at=now,
            template_fields=templates.fields(entry.campaign_id, entry.variant),
        )
        groups[intent].append(entry)
    decisions: dict[int, Decision] = {}
    for intent, members in groups.items():
        by_customer = _decide_group(session, intent, [e.customer_id for e in members])
        for entry in members:
            decisions[entry.id] = by_customer.get(entry.customer_id) or _denial(
                "no decision returned"
            )
    return decisions


def _decide_group(session: Session, intent: Intent, customer_ids: list[int]) -> dict[int, Decision]:
    try:
        return decide_batch_at_send(session, sorted(set(customer_ids)), lambda _customer_id: intent)
    except Exception as exc:  # fail closed: an error while deciding means "do not send"
        log.warning(
            "send-time policy check failed (%s); denying %d",
            exc.__class__.__name__,
            len(customer_ids),
        )
        return {}
