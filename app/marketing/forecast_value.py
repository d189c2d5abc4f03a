"""A campaign's forecast audience by profitability class: counts only, never people.

Each class is counted with the campaign's own audience count (the policy decides, set-wise in
SQL, as in :mod:`app.marketing.forecast`) narrowed by the ``value_class`` segment condition,
so a customer is counted in a class only while they may be profiled. Customers who may be
reached but are not profiled appear as "not profiled".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.campaigns.segments import SegmentContext
from app.marketing.classes import CLASSES
from app.marketing.conditions import ValueClass
from app.marketing.forecast import audience_counter, forecast_moment
from app.marketing.models import CustomerValue

NOT_PROFILED = "not_profiled"


@dataclass(frozen=True, slots=True)
class ClassReach:
    """How many of one class the campaign would reach (now or deferred)."""

    name: str
    eligible: int


def _eligible(counts) -> int:
    return sum(n for (outcome, _), n in counts.items() if outcome in ("allow", "defer"))


def reach_by_class(
    session: Session, campaign: Campaign, eligible: int, at: datetime | None = None
) -> list[ClassReach]:
    """Eligible customers per class, then the rest of the ``eligible`` (not profiled).

    Empty when no customer has a class yet (no fit), so the console shows nothing to compare.
    """
    if session.scalar(select(func.count()).where(CustomerValue.value_class.is_not(None))) == 0:
        return []
    moment = at or forecast_moment(campaign)
    count = audience_counter(session, campaign, moment)
    condition = ValueClass()
    ctx = SegmentContext(campaign.purpose, campaign.channel, moment)
    rows = []
    for name in CLASSES:
        where = condition.where(frozenset({name}), ctx)
        rows.append(ClassReach(name, _eligible(count(lambda q, w=where: q.where(w)))))
    rows.append(ClassReach(NOT_PROFILED, eligible - sum(r.eligible for r in rows)))
    return rows
