"""The customer's settings, held once on their account row: their time zone.

Quiet hours, contact windows, the pause date, the birthday date, the forecast and the audience
SQL all read ``customers.timezone``; so it is an operational setting, not an encrypted profile
field, and this module is the one place that validates and changes it.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import cache

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.transaction import transaction
from app.vault.models import ContactPreferences, Customer, ProfileField

TIMEZONE_MESSAGE = "Choose a time zone from the list, like Europe/Rome."
STALE = "This page was changed in another window. Reload it to see the current values."

#: Profile fields that once duplicated a setting; any value left in a profile is superseded.
FORMER_PROFILE_FIELDS = ("timezone",)


@cache
def time_zones() -> frozenset[str]:
    """Every IANA time zone name this server knows (its tz database)."""
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: object) -> str:
    """``value`` as a known IANA time zone name; raises ``InvalidInput`` otherwise."""
    name = value.strip() if isinstance(value, str) else ""
    if name not in time_zones():
        raise InvalidInput(TIMEZONE_MESSAGE)
    return name


@dataclass(frozen=True)
class Settings:
    """What the settings form shows and submits."""

    timezone: str

    @property
    def version(self) -> str:
        """A digest of the values, carried by the form to refuse a save made on stale values."""
        return hashlib.sha256(self.timezone.encode()).hexdigest()[:16]


def settings_of(customer: Customer) -> Settings:
    """The customer's current settings."""
    return Settings(timezone=customer.timezone)


def change_settings(session: Session, customer: Customer, wanted: Settings, version: str) -> bool:
    """Store ``wanted`` as the customer's settings; returns whether anything changed.

    Refuses a form made on values that changed since (``version``). A pause keeps its date:
    it is moved to the start of that same day in the new time zone.
    """
    timezone = check_timezone(wanted.timezone)
    with transaction(session):
        session.refresh(customer, with_for_update=True)
        if version != settings_of(customer).version:
            raise Conflict(STALE)
        # A copy left in the profile by an older release is superseded by this choice.
        session.execute(
            delete(ProfileField).where(
                ProfileField.customer_id == customer.id,
                ProfileField.field.in_(FORMER_PROFILE_FIELDS),
            )
        )
        if timezone == customer.timezone:
            return False
        _keep_pause_date(session, customer, timezone)
        customer.timezone = timezone
    return True


def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """The zone called ``name``, or UTC when the name is not a known zone."""
    return zoneinfo.ZoneInfo(name if name in time_zones() else "UTC")


def _keep_pause_date(session: Session, customer: Customer, timezone: str) -> None:
    """Re-anchor a pause (stored as the instant its local day starts) to the new zone."""
    row = session.get(ContactPreferences, customer.id)
    if row is None or row.paused_until is None:
        return
    day = row.paused_until.astimezone(zone_named(customer.timezone)).date()
    start = datetime.combine(day, time(0), tzinfo=zone_named(timezone))
    row.paused_until = start.astimezone(UTC)
