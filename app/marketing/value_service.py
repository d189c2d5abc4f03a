"""Computing and reading customer value scores (service layer; aggregates for the console).

:func:`compute_values` decrypts the purchase history of every customer who may be profiled
(see :mod:`app.marketing.eligibility`), writes **one** vault access-log entry for the whole
computation, and replaces the ``customer_values`` table: customers who withdrew since the
last computation disappear from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE, histories, profiled_ids
from app.marketing.models import CustomerValue
from app.marketing.value import TIERS, Activity, activity, parse_purchases, score_customers
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.service import log_access

ACTOR = "marketing:value-scores"


@dataclass(frozen=True, slots=True)
class TierSummary:
    """One tier in aggregate: how many customers, their expected value and mean scores."""

    tier: str
    customers: int
    expected_value_cents: int
    average_expected_cents: int


def compute_values(session: Session, now: datetime | None = None) -> int:
    """Recompute every value score; returns how many customers were scored."""
    moment = now or utcnow()
    ids = profiled_ids(session)
    activities: dict[int, Activity] = {}
    for customer_id, raw in histories(session, ids):
        act = activity(parse_purchases(raw), moment)
        if act is not None:
            activities[customer_id] = act
    scores = score_customers(activities)
    with transaction(session):
        if ids:
            log_access(
                session, actor=ACTOR, purpose=PROFILING_PURPOSE, fields=[HISTORY_FIELD],
                customer_count=len(ids), reason="customer value scores (RFM)",
            )  # fmt: skip
        session.execute(delete(CustomerValue))
        session.add_all(
            CustomerValue(
                customer_id=cid, recency_score=s.recency, frequency_score=s.frequency,
                monetary_score=s.monetary, tier=s.tier,
                expected_value_cents=s.expected_value_cents, computed_at=moment,
            )
            for cid, s in scores.items()
        )  # fmt: skip
    return len(scores)


def tier_summary(session: Session) -> list[TierSummary]:
    """Customers and expected value per tier, in tier order (every tier listed)."""
    rows = session.execute(
        select(
            CustomerValue.tier, func.count(), func.sum(CustomerValue.expected_value_cents)
        ).group_by(CustomerValue.tier)
    ).all()
    found = {tier: (count, int(total or 0)) for tier, count, total in rows}
    summary = []
    for tier in TIERS:
        count, total = found.get(tier, (0, 0))
        summary.append(TierSummary(tier, count, total, total // count if count else 0))
    return summary


def last_computed(session: Session) -> datetime | None:
    """When the scores were last computed (``None`` if never or nobody was scored)."""
    return session.scalar(select(func.max(CustomerValue.computed_at)))
