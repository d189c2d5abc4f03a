"""The time-zone picker: canonical IANA zones grouped by region, the customer's own first,
each named by its place in the reader's language with its current offset.

The tz database also holds aliases kept for old software (``US/Eastern``, ``Asia/Calcutta``)
and names that are no place at all (``Factory``, ``localtime``, ``posixrules``); a person
looks for their city. The places are the zones the database lists per country
(``zone.tab`` and ``zone1970.tab``, shipped beside the zone files), plus UTC. Any known name
is still accepted when saved (an account may hold an alias from before), and the customer's
current zone is always offered first.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

from babel.dates import get_timezone_location
from flask_babel import lazy_gettext as _l

from app.vault.settings import time_zones

TABLES = ("zone1970.tab", "zone.tab")
REGIONS = {
    "Europe": _l("Europe"),
    "America": _l("Americas"),
    "Africa": _l("Africa"),
    "Asia": _l("Asia"),
    "Australia": _l("Australia"),
    "Pacific": _l("Pacific Ocean"),
    "Atlantic": _l("Atlantic Ocean"),
    "Indian": _l("Indian Ocean"),
    "Antarctica": _l("Antarctica"),
    "Arctic": _l("Arctic"),
}
OTHER = _l("Other")
UNIVERSAL = "UTC"


def _table_zones(directory: Path) -> Iterator[str]:
    for name in TABLES:
        path = directory / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            columns = line.split("\t")
            if not line.startswith("#") and len(columns) >= 3:
                yield columns[2].strip()


@cache
def canonical_zones() -> frozenset[str]:
    """The zones people live in, as the tz database lists them per country, and UTC."""
    known = time_zones()
    listed: set[str] = set()
    for directory in zoneinfo.TZPATH:
        listed.update(_table_zones(Path(directory)))
    if not listed:  # no tables beside the zone files: keep region/city names only
        listed = {zone for zone in known if zone.split("/", 1)[0] in REGIONS and "/" in zone}
    return frozenset((listed & known) | ({UNIVERSAL} & known))


@cache
def _city_names(language: str) -> dict[str, str]:
    """Each canonical zone's place in ``language`` (CLDR, through Babel): Europe/Rome is
    "Roma" in Italian."""
    return {
        zone: get_timezone_location(zone, locale=language, return_city=True)
        for zone in canonical_zones()
    }


def _offset(zone: str, now: datetime) -> str:
    offset = now.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%z")
    return f"UTC{offset[:1] or '+'}{offset[1:3] or '00'}:{offset[3:5] or '00'}"


def zone_label(zone: str, language: str, now: datetime | None = None) -> str:
    """``Roma (UTC+01:00)``: the place in ``language`` and its offset now."""
    place = _city_names(language).get(zone)
    if place is None:  # an alias an account still holds: its own name
        place = zone.replace("_", " ").replace("/", " / ")
    return f"{place} ({_offset(zone, now or datetime.now(UTC))})"


@lru_cache(maxsize=8)
def _labelled(hour: datetime, language: str) -> dict[str, list[tuple[str, str]]]:
    """Every canonical zone with its label, by region, in the places' alphabetical order
    (offsets as of ``hour``: they change only at daylight-saving transitions, on the hour)."""
    by_region: dict[str, list[tuple[str, str]]] = {}
    for zone in canonical_zones():
        region = zone.split("/", 1)[0]
        key = region if region in REGIONS else ""
        by_region.setdefault(key, []).append((zone, zone_label(zone, language, hour)))
    for choices in by_region.values():
        choices.sort(key=lambda choice: choice[1].casefold())
    return by_region


def zone_choices(current: str | None, language: str) -> dict[object, list[tuple[str, str]]]:
    """Choices for a grouped select in ``language``: the current zone first (no group), then
    each region's places by name; group labels are translated."""
    now = datetime.now(UTC)
    by_region = _labelled(now.replace(minute=0, second=0, microsecond=0), language)
    groups: dict[object, list[tuple[str, str]]] = {}
    if current and current in time_zones():
        groups[None] = [(current, zone_label(current, language, now))]
    for region, label in [*REGIONS.items(), ("", OTHER)]:
        if region in by_region:
            groups[label] = [choice for choice in by_region[region] if choice[0] != current]
    return groups
