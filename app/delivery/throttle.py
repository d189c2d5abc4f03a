"""Per-campaign throttles (messages per minute), counted from the outbox itself.

A campaign's allowance for the next minute is its throttle minus what was sent in the last
minute and what other workers hold leased. Concurrent claimers of one throttled campaign take
turns on a transaction-scoped advisory lock on PostgreSQL (SQLite has one writer anyway).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from app.outbox.models import OutboxEntry

WINDOW = timedelta(minutes=1)
_LOCK_SPACE = 0x0A55E250


def _in_flight(session: Session, campaign_id: int, token: str, now: datetime) -> int:
    recent = or_(
        (OutboxEntry.status == "sent") & (OutboxEntry.sent_at > now - WINDOW),
        (OutboxEntry.status == "leased") & (OutboxEntry.lease_token != token),
    )
    query = select(func.count()).where(OutboxEntry.campaign_id == campaign_id, recent)
    return session.scalar(query) or 0


def over_throttle(
    session: Session, entries: Sequence, throttles: Mapping[int, int], token: str, now: datetime
) -> dict[int, datetime]:
    """Entries beyond their campaign's allowance, with the time each may be tried again.

    ``token`` is the lease token of the claim under way: its own entries are not counted as
    held by others."""
    by_campaign: dict[int, list] = defaultdict(list)
    for entry in entries:
        if entry.campaign_id in throttles:
            by_campaign[entry.campaign_id].append(entry)
    held: dict[int, datetime] = {}
    for campaign_id, members in sorted(by_campaign.items()):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _LOCK_SPACE, "b": campaign_id}
            )
        per_minute = throttles[campaign_id]
        allowance = max(per_minute - _in_flight(session, campaign_id, token, now), 0)
        for index, entry in enumerate(members[allowance:]):
            held[entry.id] = now + WINDOW * (1 + index // per_minute)
    return held
