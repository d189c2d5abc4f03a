"""The history of the customer's sharing choices and contact limits (what changed, when, by
whom), written in the same transaction as the change itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.models_base import utcnow
from app.vault.models import PreferenceChange

SHARING = "sharing"
CONTACT_LIMITS = "contact_limits"
HISTORY_LIMIT = 500


@dataclass(frozen=True)
class Change:
    """One recorded change as the history shows it."""

    changed_at: datetime
    kind: str
    detail: dict[str, Any]
    actor: str


def record_change(
    session: Session, customer_id: int, kind: str, detail: dict[str, Any], actor: str
) -> None:
    """Add one change to the session (the caller's transaction commits it with the change)."""
    session.add(
        PreferenceChange(
            customer_id=customer_id,
            changed_at=utcnow(),
            kind=kind,
            detail=json.dumps(detail, sort_keys=True),
            actor=actor,
        )
    )


def changes_of(session: Session, customer: Customer) -> list[Change]:
    """The customer's sharing and contact-limit changes, newest first."""
    rows = session.scalars(
        select(PreferenceChange)
        .where(PreferenceChange.customer_id == customer.id)
        .order_by(PreferenceChange.changed_at.desc(), PreferenceChange.id.desc())
        .limit(HISTORY_LIMIT)
    )
    return [Change(r.changed_at, r.kind, json.loads(r.detail), r.actor) for r in rows]
