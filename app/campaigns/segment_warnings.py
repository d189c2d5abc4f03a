"""Warnings about segment conditions that cannot match some or all customers under a purpose.

A condition on a shared attribute (city, interests…) only ever matches customers who share
that field for the campaign's purpose. When the purpose does not allow the field at all, the
condition matches nobody; otherwise every customer who does not share it (or holds no value)
is left out. Both are counted (never listed) so the marketer sees it before scheduling.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.checks import policy_purposes
from app.campaigns.segments import Segment, shares_field
from app.customers.models import Customer


@dataclass(frozen=True, slots=True)
class SegmentWarning:
    """One condition that cannot match ``excluded`` of ``customers`` under the purpose."""

    condition: str
    label: str
    field: str
    excluded: int
    customers: int
    allowed: bool

    @property
    def message(self) -> str:
        """The warning as the console shows it."""
        if not self.allowed:
            return (
                f"{self.label} reads the field {self.field}, which this purpose does not "
                f"allow: it matches nobody ({self.customers} of {self.customers} customers "
                "can never match)."
            )
        return (
            f"{self.label} reads the field {self.field}: {self.excluded} of {self.customers} "
            "customers do not share it for this purpose and can never match."
        )


def segment_warnings(session: Session, segment: Segment, purpose: str) -> list[SegmentWarning]:
    """A warning for each shared-attribute condition that excludes someone under ``purpose``."""
    conditions = [(c, c.shared_field) for c, _ in segment.parts if c.shared_field]
    if not conditions:
        return []
    allowed = frozenset().union(*(p.fields for p in policy_purposes(purpose)))
    alive = Customer.erased_at.is_(None)
    customers = session.scalar(select(func.count()).select_from(Customer).where(alive)) or 0
    warnings = []
    for condition, field in conditions:
        if field not in allowed:
            excluded = customers
        else:
            sharing = select(func.count()).select_from(Customer)
            shared = session.scalar(sharing.where(alive, shares_field(field, purpose))) or 0
            excluded = customers - shared
        if excluded:
            label = condition.label or condition.name
            warnings.append(
                SegmentWarning(condition.name, label, field, excluded, customers, field in allowed)
            )
    return warnings
