"""The customer's contact limits as the page shows them, in their own time zone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput
from app.vault.preferences import (
    CHANNELS,
    MAX_WEEKLY_CAP,
    Window,
    parse_windows,
    preferences_of,
    save_preferences,
)
from app.vault.settings import zone_named

__all__ = ["CHANNELS", "MAX_WEEKLY_CAP", "ContactLimits", "limits_of", "save_limits"]


@dataclass(frozen=True)
class ContactLimits:
    """What the contact-limits form shows or submits."""

    windows: tuple[Window, ...]
    weekly_cap: int | None
    pause_until: date | None
    preferred_channel: str | None
    version: int


def zone_of(customer: Customer) -> ZoneInfo:
    """The customer's time zone (UTC when the stored name is unknown)."""
    return zone_named(customer.timezone)


def limits_of(session: Session, customer: Customer) -> ContactLimits:
    """The stored limits, with the pause shown as a date in the customer's time zone."""
    row = preferences_of(session, customer)
    pause = row.paused_until.astimezone(zone_of(customer)).date() if row.paused_until else None
    return ContactLimits(
        windows=parse_windows(json.loads(row.windows_json or "[]")),
        weekly_cap=row.weekly_cap,
        pause_until=pause,
        preferred_channel=row.preferred_channel,
        version=row.version or 0,
    )


def save_limits(session: Session, customer: Customer, limits: ContactLimits) -> None:
    """Save the limits; the pause lasts until the start of that day in the customer's zone."""
    paused_until = None
    if limits.pause_until is not None:
        start = datetime.combine(limits.pause_until, time(0), tzinfo=zone_of(customer))
        if start <= datetime.now(UTC):
            raise InvalidInput("Choose a pause date in the future.")
        paused_until = start.astimezone(UTC)
    save_preferences(
        session,
        customer,
        windows=limits.windows,
        weekly_cap=limits.weekly_cap,
        paused_until=paused_until,
        preferred_channel=limits.preferred_channel,
        expected_version=limits.version,
    )
