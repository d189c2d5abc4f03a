"""Time zones and local wall-clock arithmetic, DST-safe, with a cache of ZoneInfo objects."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Known (and unknown: None) zone names; read directly by the engine on its hot path.
ZONE_CACHE: dict[str, ZoneInfo | None] = {}
_MAX_CACHED = 4096
_MIDNIGHT = time(0)
ONE_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


def zone_for(name: str) -> ZoneInfo | None:
    """The ``ZoneInfo`` for an IANA name, or ``None`` when the name is unknown or malformed."""
    try:
        return ZONE_CACHE[name]
    except KeyError:
        pass
    try:
        zone: ZoneInfo | None = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        zone = None
    if len(ZONE_CACHE) < _MAX_CACHED:
        ZONE_CACHE[name] = zone
    return zone


def instant_of(
    day: date, clock: time | None, zone: tzinfo | None, after: datetime
) -> datetime | None:
    """The earliest instant strictly after ``after`` when the local wall clock in ``zone``
    reads ``day`` ``clock`` or later (in UTC).

    ``clock`` of ``None`` means 24:00 (the next day's midnight). A wall time skipped by a DST
    change resolves to the end of the gap; a repeated one to its first occurrence that is
    still after ``after``. ``None`` when no such instant exists.
    """
    if clock is None:
        day, clock = day + ONE_DAY, _MIDNIGHT
    wall = datetime.combine(day, clock)
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) != wall:
        first = _end_of_gap(wall, zone)
    if first > after:
        return first
    # A repeated wall time (clocks going back) occurs a second time, with fold=1.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if second > after and second.astimezone(zone).replace(tzinfo=None) == wall:
        return second
    return None


def _end_of_gap(wall: datetime, zone: tzinfo | None) -> datetime:
    """The first instant reading ``wall`` or later, for a wall time skipped by a DST change.

    fold=1 reads back before ``wall`` and fold=0 after it: the change lies between, found to
    the second by bisection (transitions fall on whole seconds).
    """
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if low > high:
        low, high = high, low
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high
