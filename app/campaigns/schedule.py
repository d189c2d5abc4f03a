"""When a campaign runs: the four schedule kinds, their validation and their clocks.

- ``now``: one run as soon as the scheduler sees the scheduled campaign;
- ``at``: one run at ``scheduled_at`` (UTC);
- ``local_time``: one run at ``scheduled_at`` (or now); each recipient's message then waits
  until the first ``local_time`` (``HH:MM``) in *their* time zone at or after that moment;
- ``cron``: a run at every fire time of the five-field ``cron`` expression in
  ``cron_timezone`` (holidays, seasonal sales), until the campaign is paused or cancelled.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from functools import cache

from apscheduler.triggers.cron import CronTrigger

from app.campaigns.models import SCHEDULE_KINDS

#: How late a scheduled run may still start (the scheduler's misfire grace time): a fire
#: missed while no scheduler was active runs when one is, up to this long after its time.
FIRE_GRACE = timedelta(hours=1)
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def check_schedule(
    kind: str,
    scheduled_at: datetime | None,
    local_time: str | None,
    cron: str | None,
    cron_timezone: str | None,
) -> list[str]:
    """Problems with a schedule; empty when it is complete and valid."""
    if kind not in SCHEDULE_KINDS:
        return [f"Schedule kind must be one of {', '.join(SCHEDULE_KINDS)}."]
    problems = []
    if kind == "at" and scheduled_at is None:
        problems.append("A schedule 'at' needs a date and time.")
    if scheduled_at is not None and scheduled_at.tzinfo is None:
        problems.append("The scheduled time needs a time zone.")
    if kind == "local_time" and not (local_time and _HHMM.fullmatch(local_time)):
        problems.append("A local-time schedule needs a time of day as HH:MM.")
    if kind == "cron":
        problems += _check_cron(cron, cron_timezone)
    return problems


def _check_cron(cron: str | None, cron_timezone: str | None) -> list[str]:
    if not cron:
        return ["A recurring schedule needs a cron expression (minute hour day month weekday)."]
    if cron_timezone and not valid_timezone(cron_timezone):
        return ["The recurring schedule's time zone is not a known IANA time zone."]
    try:
        cron_trigger(cron, cron_timezone)
    except ValueError as exc:
        return [f"The cron expression is not valid: {exc}."]
    return []


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def valid_timezone(name: str) -> bool:
    """Whether ``name`` is a known IANA time zone."""
    return name in _zones()


def cron_trigger(cron: str, cron_timezone: str | None) -> CronTrigger:
    """The APScheduler trigger of a five-field crontab expression in ``cron_timezone``."""
    if len(cron.split()) != 5:
        raise ValueError("use five fields: minute hour day month weekday")
    return CronTrigger.from_crontab(cron, timezone=cron_timezone or "UTC")


def parse_local_time(value: str) -> time:
    """``HH:MM`` as a time of day."""
    match = _HHMM.fullmatch(value)
    if not match:
        raise ValueError("local time must be HH:MM")
    return time(int(match.group(1)), int(match.group(2)))


def next_local_time(local: time, timezone: str, after: datetime) -> datetime:
    """The first moment at or after ``after`` when the clock in ``timezone`` shows ``local``.

    Unknown time zones fall back to UTC (the policy denies customers whose zone is unknown
    anyway). A wall time skipped by a DST change moves forward with the clock.
    """
    zone = zoneinfo.ZoneInfo(timezone) if valid_timezone(timezone) else UTC
    here = after.astimezone(zone)
    for days in range(3):
        day = here.date() + timedelta(days=days)
        candidate = datetime.combine(day, local, tzinfo=zone).astimezone(UTC)
        if candidate >= after:
            return candidate
    return after  # unreachable: within three days the time of day always recurs


def last_fire_time(
    cron: str, cron_timezone: str | None, at: datetime, within: timedelta
) -> datetime | None:
    """The latest fire time of ``cron`` at or before ``at``, if one lies within ``within``.

    A recurring run is named by this moment, not by the clock of whichever scheduler runs
    it: a fire run late (after a takeover) is the same fire, and is run once.
    """
    trigger = cron_trigger(cron, cron_timezone)
    latest, moment = None, at - within
    while (fire := trigger.get_next_fire_time(latest, moment)) is not None and fire <= at:
        latest, moment = fire, fire + timedelta(microseconds=1)
    return latest.astimezone(UTC) if latest is not None else None
