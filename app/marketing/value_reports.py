"""Customer value in aggregate for the marketer console: tiers, classes, fits — never people."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.marketing.classes import CLASSES, LEFT, NEW
from app.marketing.models import CustomerValue, ValueFit
from app.marketing.value import TIERS

#: How many past fits the console lists.
FIT_HISTORY = 10


@dataclass(frozen=True, slots=True)
class TierSummary:
    """One RFM tier in aggregate: how many customers and their expected 12-month spend."""

    tier: str
    customers: int
    expected_value_cents: int
    average_expected_cents: int


@dataclass(frozen=True, slots=True)
class ClassSummary:
    """One profitability class in aggregate: customers, margin so far, FLTV, 12-month spend."""

    name: str
    customers: int
    current_value_cents: int
    fltv_cents: int
    expected_value_cents: int
    average_p_alive: float

    @property
    def average_fltv_cents(self) -> int:
        """FLTV per customer of the class (0 when it is empty)."""
        return self.fltv_cents // self.customers if self.customers else 0


def tier_summary(session: Session) -> list[TierSummary]:
    """Customers and expected 12-month spend per tier, in tier order (every tier listed)."""
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


def class_summary(session: Session) -> list[ClassSummary]:
    """Customers, margin so far, FLTV and 12-month spend per class (every class listed)."""
    v = CustomerValue
    query = (
        select(
            v.value_class,
            func.count(),
            func.sum(v.current_value_cents),
            func.sum(v.fltv_cents),
            func.sum(v.expected_value_cents),
            func.avg(v.p_alive),
        )
        .where(v.value_class.is_not(None))
        .group_by(v.value_class)
    )
    found = {row[0]: row[1:] for row in session.execute(query)}
    summary = []
    for name in CLASSES:
        count, current, fltv, expected, p_alive = found.get(name, (0, 0, 0, 0, 0.0))
        summary.append(
            ClassSummary(
                name,
                count,
                int(current or 0),
                int(fltv or 0),
                int(expected or 0),
                float(p_alive or 0.0),
            )
        )
    return summary


def last_computed(session: Session) -> datetime | None:
    """When the scores were last computed (``None`` if never or nobody was scored)."""
    return session.scalar(select(func.max(CustomerValue.computed_at)))


def latest_fit(session: Session) -> ValueFit | None:
    """The most recent fit of the value models, if any."""
    return session.scalars(select(ValueFit).order_by(ValueFit.id.desc()).limit(1)).first()


def recent_fits(session: Session, limit: int = FIT_HISTORY) -> list[ValueFit]:
    """The most recent fits, newest first."""
    return list(session.scalars(select(ValueFit).order_by(ValueFit.id.desc()).limit(limit)))


def movement_table(fit: ValueFit) -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
    """Rows (classes before, then ``new``), columns (classes now, then ``left``), counts."""
    moves = json.loads(fit.movement_json or "{}")
    rows = [*CLASSES, NEW]
    columns = [*CLASSES, LEFT]
    return rows, columns, {r: {c: moves.get(r, {}).get(c, 0) for c in columns} for r in rows}


def class_counts(fit: ValueFit) -> dict[str, int]:
    """Customers per class at ``fit`` (every class listed)."""
    counts = json.loads(fit.class_counts_json or "{}")
    return {name: int(counts.get(name, 0)) for name in CLASSES}
