"""Seasonal moments: holidays and sales per country, and the schedules campaigns use for them.

The moments are data (``data/calendar-v2.json``, which names its sources; shipped data is
versioned, never edited in place: version 1 typed its weekday rules by hand). Each moment has
a rule, computed by a library rather than typed as dates:

- ``{"fixed": "MM-DD"}`` — the same date every year;
- ``{"easter": N}`` — N days after Western (Gregorian) Easter Sunday, by dateutil's ``easter``
  (Good Friday -2, Easter Monday 1, Ascension 39, Whit Monday 50, Mothering Sunday -21);
- ``{"rrule": "FREQ=YEARLY;…", "offset": N}`` — an RFC 5545 recurrence rule, by dateutil's
  ``rrule`` (Thanksgiving ``BYMONTH=11;BYDAY=+4TH``, Black Friday the same with offset 1,
  Mother's Day per country); ``"unless_easter": E, "then_offset": D`` moves the date by D
  days when it falls E days after Easter (France's Mother's Day gives way to Pentecost).

A campaign sends on a moment at a local time in **each recipient's own time zone**, only to
recipients in the moment's countries (or some of them): :func:`moment_schedule` gives an
hourly campaign whose segment condition ``moment_today`` (:mod:`app.marketing.moments`)
selects, at each run, the customers whose clock shows the chosen hour on the moment's date.
The date is computed for each year by the rule, so the campaign recurs by itself. A
customer's country is the one their time zone belongs to (IANA ``zone.tab``).

Birthdays are personal moments: see ``birthday_today`` in :mod:`app.marketing.conditions`,
:func:`birthday_schedule` and the week's forecast in :mod:`app.marketing.moments`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from dateutil.easter import EASTER_WESTERN, easter
from dateutil.rrule import rrulestr

DATA_FILE = Path(__file__).parent / "data" / "calendar-v2.json"
COUNTRIES = ("IT", "DE", "FR", "ES", "IE", "US")
KINDS = ("holiday", "sale", "commercial")


@dataclass(frozen=True, slots=True)
class Moment:
    """A recurring calendar moment and the rule that gives its date in a year."""

    id: str
    name: str
    kind: str
    countries: tuple[str, ...]
    rule: dict[str, Any]

    @property
    def fixed(self) -> bool:
        """Whether the moment falls on the same month and day every year."""
        return "fixed" in self.rule

    def on(self, year: int) -> date:
        """The date of the moment in ``year``."""
        rule = self.rule
        if "fixed" in rule:
            month, day = (int(part) for part in rule["fixed"].split("-"))
            return date(year, month, day)
        if "easter" in rule:
            return easter(year, EASTER_WESTERN) + timedelta(days=int(rule["easter"]))
        found = _yearly(rule["rrule"], year) + timedelta(days=int(rule.get("offset", 0)))
        clash = "unless_easter" in rule and found == easter(year, EASTER_WESTERN) + timedelta(
            days=int(rule["unless_easter"])
        )
        if clash:
            found += timedelta(days=int(rule["then_offset"]))
        return found


@cache
def _yearly(rule: str, year: int) -> date:
    """The first date of the yearly recurrence ``rule`` in ``year``."""
    start = date(year, 1, 1)
    recurrence = rrulestr(rule, dtstart=_midnight(start))
    found = recurrence.after(_midnight(start), inc=True)
    if found is None or found.year != year:
        raise ValueError(f"recurrence rule {rule!r} gives no date in {year}")
    return found.date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


@cache
def moments() -> tuple[Moment, ...]:
    """Every moment of the shipped calendar, in file order."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return tuple(
        Moment(m["id"], m["name"], m["kind"], tuple(m["countries"]), dict(m["rule"]))
        for m in data["moments"]
    )


def calendar_source() -> str:
    """Where the calendar's dates come from (shown with the calendar)."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))["source"]


def moment(moment_id: str) -> Moment | None:
    """The moment with ``moment_id``, or ``None``."""
    return next((m for m in moments() if m.id == moment_id), None)


def upcoming(today: date, country: str | None = None, days: int = 366) -> list[tuple[date, Moment]]:
    """Moments from ``today`` within ``days`` (optionally of one country), by date."""
    found = []
    for item in moments():
        if country and country not in item.countries:
            continue
        for year in (today.year, today.year + 1):
            when = item.on(year)
            if today <= when < today + timedelta(days=days):
                found.append((when, item))
                break
    return sorted(found, key=lambda pair: (pair[0], pair[1].id))


def next_occurrence(item: Moment, after: date) -> date:
    """The first date of ``item`` on or after ``after``."""
    when = item.on(after.year)
    return when if when >= after else item.on(after.year + 1)


def moment_condition(
    item: Moment, local_hour: int, countries: Sequence[str] | None = None
) -> dict[str, Any]:
    """The segment condition selecting, at each hourly run, the recipients whose clock shows
    ``local_hour`` on ``item``'s date, in ``countries`` (default: all the moment's)."""
    params: dict[str, Any] = {"moment": item.id, "local_hour": local_hour}
    if countries:
        params["countries"] = list(countries)
    return {"moment_today": params}


def moment_schedule(
    item: Moment, at: time, countries: Sequence[str] | None = None
) -> dict[str, Any]:
    """Campaign settings that send on ``item`` at local time ``at`` in each recipient's own
    zone: a run every hour at minute ``at.minute`` and the ``moment_today`` condition."""
    return {
        "schedule_kind": "cron",
        "cron": f"{at.minute} * * * *",
        "cron_timezone": "UTC",
        "segment": moment_condition(item, at.hour, countries),
    }


def birthday_schedule(local_hour: int = 9) -> dict[str, Any]:
    """Settings of a birthday campaign: hourly runs, each picking today's local birthdays."""
    return {
        "purpose": "birthday",
        "schedule_kind": "cron",
        "cron": "0 * * * *",
        "cron_timezone": "UTC",
        "segment": {"birthday_today": {"local_hour": local_hour}},
    }
