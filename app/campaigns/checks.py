"""What makes a campaign valid: settings shape on every edit, everything before scheduling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from app.campaigns.models import SCHEDULE_KINDS, Campaign, CampaignTemplate
from app.campaigns.schedule import check_schedule, cron_trigger, parse_local_time, valid_timezone
from app.campaigns.segments import parse_segment
from app.campaigns.template_sets import templates_problems
from app.errors import InvalidInput
from app.models_base import utcnow
from app.policy_sets.in_force import known_channels, marketing_purposes, policies_in_force

MAX_HOLDOUT_PERCENT = 50
MAX_THROTTLE = 1_000_000
#: How far in the past an ``at`` time may lie when scheduling (clock skew, slow forms).
PAST_TOLERANCE = timedelta(minutes=5)


def policy_purposes(purpose: str) -> list:
    """The policy ``Purpose`` of ``purpose`` in every policy in force that declares it."""
    return [p.purposes[purpose] for p in policies_in_force().policies if purpose in p.purposes]


def purpose_problem(purpose: Any) -> str | None:
    """Why a campaign cannot use ``purpose``, or ``None``.

    A campaign is direct marketing: its purpose must be declared by the policies in force and
    be direct marketing in every one that declares it. The customer's own relationship
    messages (confirmations, password resets, answers, receipts) are never campaigns.
    """
    allowed = ", ".join(marketing_purposes())
    declared = policy_purposes(purpose) if isinstance(purpose, str) else []
    if not declared:
        return f"Unknown purpose. Campaigns may use: {allowed}."
    if not all(p.direct_marketing for p in declared):
        return (
            f"Purpose '{purpose}' is not direct marketing, so no campaign may use it "
            f"(campaigns may use: {allowed}). Messages of the customer's own relationship are "
            "sent by Assenso itself, with fixed texts."
        )
    return None


def check_settings(values: Mapping[str, Any]) -> None:
    """Refuse a malformed setting among ``values`` (only the keys present are checked)."""
    for key, value in values.items():
        check = _CHECKS.get(key)
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                raise InvalidInput(problem)


def _name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        return "A campaign name has 1 to 200 characters."
    return None


def _channel(value: Any) -> str | None:
    if value not in known_channels():
        return f"Unknown channel. Known channels: {', '.join(known_channels())}."
    return None


def _kind(value: Any) -> str | None:
    return (
        None if value in SCHEDULE_KINDS else f"Schedule kind is one of {', '.join(SCHEDULE_KINDS)}."
    )


def _moment(value: Any) -> str | None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        return "The scheduled time must be a date and time with a time zone."
    return None


def _local_time(value: Any) -> str | None:
    try:
        parse_local_time(value)
    except (ValueError, TypeError):
        return "A local send time is written HH:MM (24-hour clock)."
    return None


def _cron(value: Any) -> str | None:
    try:
        cron_trigger(value, None)
    except (ValueError, TypeError, AttributeError) as exc:
        return f"The cron expression is not valid: {exc}."
    return None


def _zone(value: Any) -> str | None:
    return None if isinstance(value, str) and valid_timezone(value) else "Unknown time zone."


def _int_range(low: int, high: int, what: str):
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"{what} must be a whole number from {low} to {high}."
        return None

    return check


_CHECKS = {
    "name": _name,
    "purpose": purpose_problem,
    "channel": _channel,
    "schedule_kind": _kind,
    "scheduled_at": _moment,
    "local_time": _local_time,
    "cron": _cron,
    "cron_timezone": _zone,
    "throttle_per_minute": _int_range(1, MAX_THROTTLE, "Throttle per minute"),
    "holdout_percent": _int_range(0, MAX_HOLDOUT_PERCENT, "Holdout percentage"),
}


def campaign_problems(
    campaign: Campaign, templates: Sequence[CampaignTemplate], now: datetime | None = None
) -> list[str]:
    """Every reason ``campaign`` cannot be scheduled now; empty when it can."""
    problem = purpose_problem(campaign.purpose)
    if problem:
        return [problem]
    purposes = policy_purposes(campaign.purpose)
    problems = [] if campaign.channel in known_channels() else ["The channel is not known."]
    problems += check_schedule(
        campaign.schedule_kind,
        campaign.scheduled_at,
        campaign.local_time,
        campaign.cron,
        campaign.cron_timezone,
    )
    moment = campaign.scheduled_at
    if campaign.schedule_kind == "at" and moment and moment < (now or utcnow()) - PAST_TOLERANCE:
        problems.append("The scheduled time is in the past.")
    try:
        parse_segment(campaign.segment_json)
    except InvalidInput as exc:
        problems.append(str(exc))
    return problems + templates_problems(purposes, campaign.channel, templates)
