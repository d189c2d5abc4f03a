"""Moments at each customer's time: the ``moment_today`` segment condition, the country of a
time zone, and the birthday forecast of the coming week.

``{"moment_today": {"moment": "easter", "local_hour": 9, "countries": ["IT", "DE"]}}`` matches,
at a run, the customers whose time zone shows ``local_hour`` now on the moment's date in that
zone, and whose zone belongs to one of ``countries`` (default: every country of the moment;
only the moment's own countries may be named). Used by an hourly campaign
(:func:`~app.marketing.calendar.moment_schedule`): each zone reaches the hour once a day, so
each customer gets the moment's message once a year, at their own local time. SQL only: the
time zone is an account setting, nothing is decrypted.

A zone's country is the one IANA's ``zone.tab`` gives it (``Europe/Rome`` is IT,
``America/New_York`` US); zones of no country (``UTC``, ``Etc/GMT+5``) and old aliases
(``US/Eastern``) match no country, so a customer who chose one never gets a moment meant for
some countries only (fail closed).
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, exists, false, select
from sqlalchemy.orm import Session

from app.campaigns.segments import Condition, SegmentContext, register_condition
from app.campaigns.shared_values import shared_values
from app.customers.models import Customer
from app.errors import InvalidInput
from app.ledger.models import ConsentState
from app.marketing.calendar import Moment, moment, moments
from app.marketing.conditions import is_birthday, run_minute, zones_at_local_hour
from app.transaction import transaction
from app.vault.service import log_access

log = logging.getLogger("assenso.marketing")
BIRTHDAY_PURPOSE = "birthday"
BIRTHDAY_FIELD = "birthday"
BATCH = 1000


@cache
def zone_countries() -> dict[str, str]:
    """``{zone: ISO 3166 country}`` from the first ``zone.tab`` on the time zone path."""
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / "zone.tab"
        if table.is_file():
            found = {}
            for line in table.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    parts = line.split("\t")
                    found[parts[2]] = parts[0]
            return found
    log.warning("no zone.tab on the time zone path: moments limited to countries match nobody")
    return {}


def zones_on_moment(item: Moment, at, local_hour: int, countries: Sequence[str]) -> list[str]:
    """The zones of ``countries`` whose clock shows ``local_hour`` at ``at`` on ``item``'s date."""
    country_of = zone_countries()
    return sorted(
        zone
        for zone, local_day in zones_at_local_hour(run_minute(at), local_hour).items()
        if country_of.get(zone) in countries and item.on(local_day.year) == local_day
    )


class MomentToday(Condition):
    """It is the moment's date at ``local_hour`` in the customer's zone, in its countries."""

    name = "moment_today"
    label = "Calendar moment, at local hour"
    description = (
        "A calendar moment at a local hour in each customer's zone and country (run hourly)."
    )
    form = "moment"

    def __init__(self) -> None:
        shipped = moments()
        #: The moments of the shipped calendar the builder offers, by id.
        self.choices = tuple(item.id for item in shipped)
        #: What the builder shows for each choice: its name and countries.
        self.choice_labels = {
            item.id: f"{item.name} ({', '.join(item.countries)})" for item in shipped
        }

    def parse(self, value: Any) -> tuple[Moment, int, tuple[str, ...]]:
        """``{"moment": id, "local_hour": H, "countries": [...]?}``."""
        if (
            not isinstance(value, dict)
            or not {"moment", "local_hour"} <= set(value)
            or not (set(value) <= {"moment", "local_hour", "countries"})
        ):
            raise InvalidInput("Segment moment_today takes moment, local_hour and countries.")
        item = moment(value["moment"]) if isinstance(value["moment"], str) else None
        if item is None:
            raise InvalidInput("Segment moment_today: unknown calendar moment.")
        hour = value["local_hour"]
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise InvalidInput("Segment moment_today: local_hour is a whole hour 0-23.")
        countries = value.get("countries", list(item.countries))
        if (
            not isinstance(countries, list)
            or not countries
            or not set(countries) <= set(item.countries)
        ):
            listed = ", ".join(item.countries)
            raise InvalidInput(f"Segment moment_today: countries of {item.name} are {listed}.")
        return item, hour, tuple(sorted(set(countries)))

    def where(self, params, ctx: SegmentContext) -> ColumnElement[bool]:
        """The customer's time zone is one of the zones on the moment now."""
        item, hour, countries = params
        zones = zones_on_moment(item, ctx.at, hour, countries)
        return Customer.timezone.in_(zones) if zones else false()


register_condition(MomentToday())


def birthday_forecast(session: Session, today: date, days: int = 7) -> list[tuple[date, int]]:
    """How many birthdays fall on each of the ``days`` days from ``today``, among customers
    who consented to birthday messages and shared their birthday for it (counts only; one
    access-log entry)."""
    granted = exists(
        select(ConsentState.customer_id).where(
            ConsentState.customer_id == Customer.id,
            ConsentState.purpose == BIRTHDAY_PURPOSE,
            ConsentState.status == "granted",
        )
    )
    ids = list(
        session.scalars(
            select(Customer.id).where(
                Customer.erased_at.is_(None), Customer.objected_at.is_(None), granted
            )
        )
    )
    dates = [today + timedelta(days=n) for n in range(days)]
    counts = dict.fromkeys(dates, 0)
    read = 0
    for start in range(0, len(ids), BATCH):
        values = shared_values(
            session, ids[start : start + BATCH], {BIRTHDAY_FIELD}, BIRTHDAY_PURPOSE
        )
        for fields in values.values():
            read += 1
            for day in dates:
                if is_birthday(fields.get(BIRTHDAY_FIELD, ""), day):
                    counts[day] += 1
    with transaction(session):
        log_access(
            session,
            actor="marketing:birthday-forecast",
            purpose=BIRTHDAY_PURPOSE,
            fields=[BIRTHDAY_FIELD],
            customer_count=read,
            reason=f"birthdays of the {days} days from {today.isoformat()}",
        )
    return list(counts.items())
