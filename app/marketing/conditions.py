"""Segment conditions added by marketing: ``value_tier``, ``value_class``, ``birthday_today``.

Registered in the campaigns' condition registry when :mod:`app.marketing` is imported (the
model registry imports it at start-up), so every campaign segment may use them::

    {"value_tier": ["champions", "loyal"]}
    {"value_class": ["most_growable"]}
    {"birthday_today": {"local_hour": 9}}
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select

from app.campaigns.segments import Condition, SegmentContext, register_condition
from app.customers.models import Customer
from app.errors import InvalidInput
from app.marketing.classes import CLASSES
from app.marketing.eligibility import profiling_allowed
from app.marketing.models import CustomerValue
from app.marketing.value import TIERS


class _StoredValue(Condition):
    """The customer's stored value score has one of the listed values in ``column``.

    SQL only: reads the stored pseudonymous scores, nothing is decrypted. A customer who
    withdrew the profiling consent or stopped sharing purchase history no longer matches,
    even before the scores are recomputed.
    """

    kinds = "values"
    form = "choices"
    #: The ``customer_values`` column compared.
    column_name = "tier"

    def parse(self, value: Any) -> frozenset[str]:
        """A non-empty list of known names."""
        listed = ", ".join(self.choices)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"Segment {self.name} is a list of {self.kinds}: {listed}.")
        chosen = frozenset(value)
        if not chosen <= set(self.choices):
            raise InvalidInput(f"Segment {self.name}: {self.kinds} are {listed}.")
        return chosen

    def where(self, params: frozenset[str], ctx: SegmentContext) -> ColumnElement[bool]:
        """A stored score with one of the values, and profiling still allowed."""
        scored = exists(
            select(CustomerValue.customer_id).where(
                CustomerValue.customer_id == Customer.id,
                getattr(CustomerValue, self.column_name).in_(sorted(params)),
            )
        ).correlate(Customer)
        return and_(scored, profiling_allowed())


class ValueTier(_StoredValue):
    """The customer's RFM value tier (see :mod:`app.marketing.value`) is one of the tiers."""

    name = "value_tier"
    label = "Customer value tier (RFM)"
    description = "Stored RFM value tier, for customers who allow profiling."
    kinds = "tiers"
    choices = TIERS
    column_name = "tier"


class ValueClass(_StoredValue):
    """The customer's profitability class (see :mod:`app.marketing.classes`) is one of them."""

    name = "value_class"
    label = "Profitability class"
    description = "Stored class by current value and future lifetime value (profiling allowed)."
    kinds = "classes"
    choices = CLASSES
    column_name = "value_class"


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


@lru_cache(maxsize=64)
def zones_at_local_hour(moment: datetime, hour: int) -> dict[str, date]:
    """``{zone: local date}`` of every time zone whose clock shows ``hour`` at ``moment``."""
    found = {}
    for name in _zone_names():
        local = moment.astimezone(zoneinfo.ZoneInfo(name))
        if local.hour == hour:
            found[name] = local.date()
    return found


def is_birthday(birthday: str, day: date) -> bool:
    """Whether ``birthday`` (YYYY-MM-DD) falls on ``day``; 29 February counts on the 28th."""
    try:
        born = date.fromisoformat(birthday)
    except ValueError:
        return False
    if (born.month, born.day) == (day.month, day.day):
        return True
    leap_day = (born.month, born.day) == (2, 29)
    return leap_day and (day.month, day.day) == (2, 28) and not _is_leap(day.year)


def _is_leap(year: int) -> bool:
    return (date(year, 3, 1) - timedelta(days=1)).day == 29


class BirthdayToday(Condition):
    """It is the customer's birthday on their local date, at ``local_hour`` of their clock.

    Meant for a campaign with purpose ``birthday`` run every hour (cron ``0 * * * *``): each
    run selects the customers whose time zone is at ``local_hour`` right now and whose shared
    birthday (shared for the campaign's purpose, decrypted in the run) is their local today.
    Each zone is at that hour once a day, so each customer is chosen once a year. Where two
    zones 24 hours apart (e.g. Pacific/Kiritimati and Pacific/Honolulu) are at that hour
    together, a birthday on either date matches both: a documented, rare over-match.
    """

    name = "birthday_today"
    label = "Birthday today, at local hour"
    description = "Birthday today in the customer's time zone, at this hour (run hourly)."
    form = "hour"
    shared_field = "birthday"

    def parse(self, value: Any) -> int:
        """``{"local_hour": H}`` with H from 0 to 23."""
        hour = value.get("local_hour") if isinstance(value, dict) else None
        if set(value if isinstance(value, dict) else ()) != {"local_hour"} or (
            isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23
        ):
            raise InvalidInput("Segment birthday_today takes local_hour, a whole hour 0-23.")
        return hour

    def where(self, params: int, ctx: SegmentContext) -> ColumnElement[bool]:
        """The customer's time zone is at ``local_hour`` now."""
        return Customer.timezone.in_(sorted(zones_at_local_hour(_hour(ctx.at), params)))

    def matches(self, params: int, value: str, ctx: SegmentContext) -> bool:
        """The shared birthday is a local date of those zones."""
        days = set(zones_at_local_hour(_hour(ctx.at), params).values())
        return any(is_birthday(value, day) for day in days)


def _hour(moment: datetime) -> datetime:
    """The run's minute (cron fires on minutes), so cached lookups are shared by a run."""
    return moment.replace(second=0, microsecond=0)


for _condition in (ValueTier(), ValueClass(), BirthdayToday()):
    register_condition(_condition)
