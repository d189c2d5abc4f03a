"""Checks a JSON Schema cannot express, and the building of :class:`Policy` objects.

Input is data that already passed ``policies/schema.json``; every problem found is reported
with the JSON pointer it concerns so the loader can turn it into a file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import time
from types import MappingProxyType
from typing import Any

from app.policy.document import (
    PROFILE_FIELDS,
    WEEKDAY_NAMES,
    Channel,
    Policy,
    Purpose,
    QuietHours,
    Settings,
)

Problem = tuple[tuple[str | int, ...], str]


def semantic_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Every inconsistency in a schema-valid policy document, as (path, message) pairs."""
    return list(_problems(data))


def _problems(data: Mapping[str, Any]) -> Iterator[Problem]:
    channels = [c["id"] for c in data["channels"]]
    purposes = [p["id"] for p in data["purposes"]]
    yield from _duplicates("channels", channels)
    yield from _duplicates("purposes", purposes)
    for i, channel in enumerate(data["channels"]):
        if channel["address_field"] not in PROFILE_FIELDS:
            yield ("channels", i, "address_field"), "address field is not a profile field"
    for i, purpose in enumerate(data["purposes"]):
        yield from _purpose_problems(i, purpose)
    yield from _settings_problems(data["settings"], data["channels"], set(purposes))


def _duplicates(section: str, ids: list[str]) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            yield (section, i, "id"), f"{section[:-1]} {ident!r} is declared twice"
        seen.add(ident)


def _purpose_problems(i: int, purpose: Mapping[str, Any]) -> Iterator[Problem]:
    unknown = sorted(set(purpose["fields"]) - PROFILE_FIELDS)
    if unknown:
        yield ("purposes", i, "fields"), f"unknown profile field(s): {', '.join(unknown)}"
    if purpose["transactional"] and purpose["direct_marketing"]:
        yield ("purposes", i), "a transactional purpose cannot be direct marketing"
    if purpose["direct_marketing"] and purpose["lawful_basis"] == "contract":
        yield (
            ("purposes", i, "lawful_basis"),
            "a direct-marketing purpose cannot rest on the contract basis (GDPR Art. 6(1)(b) "
            "covers only what the contract needs)",
        )
    validity = purpose.get("consent_validity_days")
    lead = purpose.get("repermission_lead_days")
    if validity is not None and lead is not None and lead >= validity:
        yield (
            ("purposes", i, "repermission_lead_days"),
            "re-permission lead time must be shorter than the consent validity",
        )


def _settings_problems(
    settings: Mapping[str, Any], channels: list[Mapping[str, Any]], purposes: set[str]
) -> Iterator[Problem]:
    channel_ids = {c["id"] for c in channels}
    model = settings["model"]
    for name in sorted(channel_ids - set(model)):
        yield ("settings", "model"), f"no model (opt_in/opt_out) declared for channel {name!r}"
    for name in sorted(set(model) - channel_ids):
        yield ("settings", "model", name), f"unknown channel {name!r}"
    for channel in channels:
        if channel["double_opt_in"] and model.get(channel["id"]) == "opt_out":
            yield (
                ("settings", "model", channel["id"]),
                f"channel {channel['id']!r} uses the opt_out model but asks for double opt-in",
            )
    for name in sorted(set(settings["max_per_week"]) - channel_ids):
        yield ("settings", "max_per_week", name), f"unknown channel {name!r}"
    yield from _soft_opt_in_problems(settings, channel_ids, purposes)
    for i, quiet in enumerate(settings["quiet_hours"]):
        for name in quiet["channels"]:
            if name not in channel_ids:
                yield ("settings", "quiet_hours", i, "channels"), f"unknown channel {name!r}"
        if quiet["start"] == quiet["end"]:
            yield ("settings", "quiet_hours", i), "quiet hours must not start and end together"
        if quiet["start"] == "24:00":
            yield ("settings", "quiet_hours", i, "start"), "quiet hours cannot start at 24:00"


def _soft_opt_in_problems(
    settings: Mapping[str, Any], channel_ids: set[str], purposes: set[str]
) -> Iterator[Problem]:
    scope = settings.get("soft_opt_in")
    if settings["soft_opt_in_allowed"] and scope is None:
        yield ("settings", "soft_opt_in_allowed"), "soft opt-in allowed but no soft_opt_in scope"
    if scope is None:
        return
    for name in scope["channels"]:
        if name not in channel_ids:
            yield ("settings", "soft_opt_in", "channels"), f"unknown channel {name!r}"
    for name in scope["purposes"]:
        if name not in purposes:
            yield ("settings", "soft_opt_in", "purposes"), f"unknown purpose {name!r}"


def _clock(text: str) -> time | None:
    """``HH:MM`` as a time; ``24:00`` as ``None`` (end of day)."""
    if text == "24:00":
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _texts(value: str | Mapping[str, str]) -> dict[str, str]:
    """A text per language; a single text is the English one."""
    return {"en": value} if isinstance(value, str) else dict(value)


def build_policy(
    data: Mapping[str, Any], sha256: str, source_text: str, path: str | None
) -> Policy:
    """Turn a validated policy document into a frozen :class:`Policy`."""
    purposes = {
        p["id"]: Purpose(
            id=p["id"],
            labels=MappingProxyType(dict(p["labels"])),
            description=_texts(p["description"])["en"],
            lawful_basis=p["lawful_basis"],
            fields=frozenset(p["fields"]),
            profiling=p["profiling"],
            direct_marketing=p["direct_marketing"],
            consent_validity_days=p.get("consent_validity_days"),
            repermission_lead_days=p.get("repermission_lead_days"),
            transactional=p["transactional"],
            descriptions=MappingProxyType(_texts(p["description"])),
        )
        for p in data["purposes"]
    }
    channels = {
        c["id"]: Channel(c["id"], c["address_field"], c["double_opt_in"]) for c in data["channels"]
    }
    s = data["settings"]
    scope = s.get("soft_opt_in") or {"channels": [], "purposes": []}
    quiet = tuple(
        QuietHours(
            channels=frozenset(q["channels"]),
            start=_clock(q["start"]) or time(0),
            end=_clock(q["end"]),
            weekdays=frozenset(WEEKDAY_NAMES.index(d) for d in q.get("weekdays", WEEKDAY_NAMES)),
        )
        for q in s["quiet_hours"]
    )
    settings = Settings(
        model=MappingProxyType(dict(s["model"])),
        minimum_age=s["minimum_age"],
        soft_opt_in_allowed=s["soft_opt_in_allowed"],
        soft_opt_in_channels=frozenset(scope["channels"]),
        soft_opt_in_purposes=frozenset(scope["purposes"]),
        quiet_hours=quiet,
        max_per_week=MappingProxyType(dict(s["max_per_week"])),
        customer_limits_apply=s["customer_limits_apply"],
    )
    return Policy(
        policy_id=data["policy_id"],
        version=data["version"],
        title=data["title"],
        jurisdictions=tuple(data["jurisdictions"]),
        default=data.get("default", False),
        purposes=MappingProxyType(purposes),
        channels=MappingProxyType(channels),
        settings=settings,
        sha256=sha256,
        source_text=source_text,
        path=path,
    )
