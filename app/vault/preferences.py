"""The customer's own contact limits: windows, weekly cap, pause, preferred channel.

Stored as one row per customer with a version number: a form carries the version it showed,
and a save against a newer version is refused, so two tabs never silently overwrite each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.changes import CONTACT_LIMITS, record_change
from app.vault.models import ContactPreferences
from app.webhooks.outbox import enqueue

MAX_WINDOWS = 14
MAX_WEEKLY_CAP = 50
CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class Window:
    """A time of day on some weekdays (0 = Monday) in the customer's own time zone."""

    weekdays: frozenset[int]
    start: time
    end: time

    def to_json(self) -> dict:
        """The stored form."""
        return {
            "days": sorted(self.weekdays),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }


def parse_windows(raw: str | list) -> tuple[Window, ...]:
    """Windows from their stored JSON (or a list of dicts); raises ``InvalidInput``."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(items, list) or len(items) > MAX_WINDOWS:
            raise ValueError
        windows = []
        for item in items:
            days = frozenset(int(d) for d in item["days"])
            if not days or not days <= set(range(7)):
                raise ValueError
            start, end = time.fromisoformat(item["start"]), time.fromisoformat(item["end"])
            if start == end:
                raise ValueError
            windows.append(Window(days, start, end))
        return tuple(windows)
    except (ValueError, TypeError, KeyError):
        raise InvalidInput(
            "Contact windows need days (Monday to Sunday) and a start and end time that differ."
        ) from None


def preferences_of(session: Session, customer: Customer) -> ContactPreferences:
    """The customer's stored preferences (an unsaved default row when none exist yet)."""
    row = session.get(ContactPreferences, customer.id)
    return row or ContactPreferences(customer_id=customer.id, windows_json="[]", version=0)


def save_preferences(
    session: Session,
    customer: Customer,
    *,
    windows: tuple[Window, ...],
    weekly_cap: int | None,
    paused_until: datetime | None,
    preferred_channel: str | None,
    expected_version: int,
    actor: str = "customer",
) -> ContactPreferences:
    """Save the customer's limits; refuses a stale form (another tab saved in between).

    The saved limits are also kept in the customer's history."""
    if weekly_cap is not None and not 0 <= weekly_cap <= MAX_WEEKLY_CAP:
        raise InvalidInput(f"The weekly limit must be between 0 and {MAX_WEEKLY_CAP}.")
    if preferred_channel not in (None, *CHANNELS):
        raise InvalidInput("Choose e-mail or SMS as preferred channel.")
    if paused_until is not None and paused_until.tzinfo is None:
        raise InvalidInput("The pause date needs a time zone.")
    with transaction(session):
        row = session.get(ContactPreferences, customer.id, with_for_update=True)
        current = row.version if row else 0
        if current != expected_version:
            raise Conflict(
                "These settings were changed in another window. Reload to see them, then try again."
            )
        if row is None:
            row = ContactPreferences(customer_id=customer.id, version=0)
            session.add(row)
        row.windows_json = json.dumps([w.to_json() for w in windows])
        row.weekly_cap = weekly_cap
        row.paused_until = paused_until
        row.preferred_channel = preferred_channel
        row.version = current + 1
        row.updated_at = utcnow()
        detail = {
            "windows": [w.to_json() for w in windows],
            "weekly_cap": weekly_cap,
            "paused_until": paused_until.isoformat() if paused_until else None,
            "preferred_channel": preferred_channel,
        }
        record_change(session, customer.id, CONTACT_LIMITS, detail, actor)
        enqueue(session, "preferences.changed", customer.ref, {"changed": ["contact"]})
    return row
