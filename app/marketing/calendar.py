"""Seasonal moments: holidays and sales per country, and the schedules campaigns use for them.

The moments are data (``data/calendar-v1.json``, which names its sources; shipped data is
versioned, never edited in place). Each moment has a rule:

- ``{"fixed": "MM-DD"}`` — the same date every year;
- ``{"easter": N}`` — N days after Western (Gregorian) Easter Sunday;
- ``{"nth_weekday": {"month", "weekday" (0 = Monday), "n" (-1 = last)}, "offset": N}``.

A campaign uses a moment through :func:`schedule_for`: fixed-date moments become a yearly
cron schedule (``M H D MM *`` in the chosen time zone) that repeats by itself; moveable ones
(Easter, Black Friday…) cannot be written as a five-field cron expression, so they become a
one-off ``at`` schedule for the next occurrence, to be scheduled again each year.

Birthdays are personal moments: see ``birthday_today`` in :mod:`app.marketing.conditions`
and :func:`birthday_schedule`.
"""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "calendar-v1.json"
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
            return easter(year) + timedelta(days=int(rule["easter"]))
        spec = rule["nth_weekday"]
        found = nth_weekday(year, spec["month"], spec["weekday"], spec["n"])
        return found + timedelta(days=int(rule.get("offset", 0)))


def easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (0 = Monday) of the month; ``n = -1`` is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))


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


def schedule_for(item: Moment, at: time, timezone: str, today: date) -> dict[str, Any]:
    """Campaign schedule settings for ``item`` at local time ``at`` in ``timezone``.

    Fixed dates: a yearly ``cron`` schedule; moveable dates: an ``at`` schedule on the next
    occurrence (see the module docstring).
    """
    if item.fixed:
        month, day = item.rule["fixed"].split("-")
        return {
            "schedule_kind": "cron",
            "cron": f"{at.minute} {at.hour} {int(day)} {int(month)} *",
            "cron_timezone": timezone,
        }
    when = datetime.combine(next_occurrence(item, today), at, tzinfo=zoneinfo.ZoneInfo(timezone))
    return {"schedule_kind": "at", "scheduled_at": when.astimezone(zoneinfo.ZoneInfo("UTC"))}


def birthday_schedule(local_hour: int = 9) -> dict[str, Any]:
    """Settings of a birthday campaign: hourly runs, each picking today's local birthdays."""
    return {
        "purpose": "birthday",
        "schedule_kind": "cron",
        "cron": "0 * * * *",
        "cron_timezone": "UTC",
        "segment": {"birthday_today": {"local_hour": local_hour}},
    }
