"""The customer's settings, held once on their account row: their language and time zone.

Quiet hours, contact windows, the pause date, the birthday date, the forecast and the audience
SQL all read ``customers.timezone``; the choice of template, e-mails from the portal and
language segments read ``customers.language``. So both are operational settings, kept once and
unencrypted, and this module is the one place that validates and changes them. (The language
is also in the field catalogue, marked ``on_account``: a purpose may let its messages print
it, which the customer shares or not like any field; its value is still this one.)
"""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import cache

from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.transaction import transaction
from app.vault.errors import FieldValidationError
from app.vault.fields import field_spec
from app.vault.models import ContactPreferences

#: Each language messages can be written in (the catalogue's), in its own words.
LANGUAGE_NAMES = {
    "en": "English",
    "it": "Italiano",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
}
LANGUAGE_MESSAGE = "Choose one of the offered languages."
TIMEZONE_MESSAGE = "Choose a time zone from the list, like Europe/Rome."
STALE = "This page was changed in another window. Reload it to see the current values."


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


def check_language(value: object) -> str:
    """``value`` as the code of a supported language; raises ``InvalidInput`` otherwise."""
    try:
        return field_spec("language").normalise_and_validate(value)
    except FieldValidationError:
        raise InvalidInput(LANGUAGE_MESSAGE) from None


@dataclass(frozen=True)
class Settings:
    """What the settings form shows and submits."""

    language: str
    timezone: str

    @property
    def version(self) -> str:
        """A digest of the values, carried by the form to refuse a save made on stale values."""
        return hashlib.sha256(f"{self.language}|{self.timezone}".encode()).hexdigest()[:16]


def settings_of(customer: Customer) -> Settings:
    """The customer's current settings."""
    return Settings(language=customer.language, timezone=customer.timezone)


def change_settings(session: Session, customer: Customer, wanted: Settings, version: str) -> bool:
    """Store ``wanted`` as the customer's settings; returns whether anything changed.

    Refuses a form made on values that changed since (``version``). A pause keeps its date:
    it is moved to the start of that same day in the new time zone.
    """
    language, timezone = check_language(wanted.language), check_timezone(wanted.timezone)
    with transaction(session):
        session.refresh(customer, with_for_update=True)
        if version != settings_of(customer).version:
            raise Conflict(STALE)
        if (language, timezone) == (customer.language, customer.timezone):
            return False
        if timezone != customer.timezone:
            _keep_pause_date(session, customer, timezone)
        customer.language, customer.timezone = language, timezone
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
