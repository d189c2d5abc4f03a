"""Time zones and local wall-clock arithmetic, DST-safe, with a cache of ZoneInfo objects."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ZONES: dict[str, ZoneInfo | None] = {}
_MAX_CACHED = 4096
_MIDNIGHT = time(0)
ONE_DAY = timedelta(days=1)


def zone_for(name: str) -> ZoneInfo | None:
    """The ``ZoneInfo`` for an IANA name, or ``None`` when the name is unknown or malformed."""
    try:
        return _ZONES[name]
    except KeyError:
        pass
    try:
        zone: ZoneInfo | None = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        zone = None
    if len(_ZONES) < _MAX_CACHED:
        _ZONES[name] = zone
    return zone


def instant_of(
    day: date, clock: time | None, zone: tzinfo | None, after: datetime
) -> datetime | None:
    """The earliest instant strictly after ``after`` whose local reading is ``day`` ``clock``.

    ``clock`` of ``None`` means 24:00 (the next day's midnight). A wall time skipped by a DST
    change resolves to the first instant after the gap; a repeated one to its first occurrence
    that is still after ``after``. ``None`` when no such instant exists.
    """
    if clock is None:
        day, clock = day + ONE_DAY, _MIDNIGHT
    wall = datetime.combine(day, clock, zone)
    # fold=0 is the first occurrence of a repeated wall time and, for a wall time skipped by
    # the clocks going forward, an instant after the gap: always a valid, earliest reading.
    if wall > after:
        return wall
    later = wall.replace(fold=1)
    # fold=1 is later only for a repeated wall time (its second occurrence); in a gap it
    # reads back earlier than the wanted wall time and is not a valid reading.
    if later > after and later.astimezone(zone).replace(tzinfo=None) >= wall.replace(tzinfo=None):
        return later
    return None
