"""Audience forecast before scheduling: counts per outcome, rule and time zone — never people.

Counts come from the set-wise :func:`~app.audience.count_audience` with the
campaign's segment as candidate filter. Conditions on shared attributes (cities, interests…)
are applied in the forecast only as far as SQL can ("shared and held"); their values are
matched when the run decrypts them, so for such segments the forecast is an upper bound.

When templates use fields with a fallback (``{{ first_name|default('there') }}``), the
eligible customers are split into those who get every such field personalised (they share it
for the purpose and hold a value) and those who get at least one fallback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from app.audience import count_audience
from app.campaigns.models import Campaign
from app.campaigns.segments import SegmentContext, parse_segment, shares_field
from app.campaigns.service import campaign_templates
from app.campaigns.template_sets import campaign_field_usage
from app.customers.models import Customer
from app.models_base import utcnow

#: Time zones listed one by one (the rest are summed as "other").
MAX_ZONES = 40
RULE_LABELS = {
    "purpose_not_direct_marketing": "Purpose is not direct marketing (no campaign may use it)",
    "objection": "Objected to direct marketing",
    "suppression": "Address suppressed (bounce, complaint, opt-out)",
    "minimum_age": "Below the minimum age",
    "lawful_basis": "No consent (or other lawful basis) for this purpose and channel",
    "consent_expired": "Consent expired",
    "double_opt_in": "Double opt-in not confirmed",
    "channel_address": "No verified address for the channel",
    "data_minimisation": "Template uses fields not shared for this purpose",
    "timezone_unknown": "Time zone unknown",
    "jurisdiction_unknown": "Jurisdiction without a policy",
    "purpose_unknown": "Purpose not declared by the policy",
    "channel_unknown": "Channel not declared by the policy",
    "policy_error": "Policy error (fails closed)",
    "pause": "Customer paused contact",
    "frequency_cap": "Weekly cap reached",
    "quiet_hours": "Legal quiet hours",
    "contact_window": "Outside the customer's contact window",
}


@dataclass(slots=True)
class ZoneForecast:
    """Outcomes in one time zone."""

    zone: str
    allowed: int = 0
    deferred: int = 0
    denied: int = 0


@dataclass(slots=True)
class Forecast:
    """The forecast of one campaign at one moment (aggregates only)."""

    at: datetime
    candidates: int = 0
    allowed: int = 0
    deferred: int = 0
    denied: int = 0
    holdout_estimate: int = 0
    excluded_by_rule: dict[str, int] = field(default_factory=dict)
    deferred_by_rule: dict[str, int] = field(default_factory=dict)
    zones: list[ZoneForecast] = field(default_factory=list)
    upper_bound: bool = False
    #: Fields the templates use with a fallback, and how the eligible split over them.
    fallback_fields: tuple[str, ...] = ()
    personalised: int = 0
    with_fallback: int = 0

    @property
    def eligible(self) -> int:
        """Allowed now plus deferred (sent later): who the campaign will reach."""
        return self.allowed + self.deferred


def forecast_moment(campaign: Campaign, now: datetime | None = None) -> datetime:
    """When to forecast: the scheduled time of an ``at``/``local_time`` campaign, else now."""
    now = now or utcnow()
    if campaign.schedule_kind in ("at", "local_time") and campaign.scheduled_at:
        return max(campaign.scheduled_at, now)
    return now


def audience_counter(
    session: Session, campaign: Campaign, moment: datetime
) -> Callable[..., Counter]:
    """``count(extra_filter)``: the campaign's ``(outcome, rule) -> customers`` at ``moment``,
    among its segment further narrowed by ``extra_filter`` (a query -> query function)."""
    segment = parse_segment(campaign.segment_json)
    narrow = segment.candidate_filter(SegmentContext(campaign.purpose, campaign.channel, moment))
    usage = campaign_field_usage(campaign_templates(session, campaign.id))

    def count(extra_filter=None) -> Counter:
        def candidate_filter(query):
            query = narrow(query) if narrow else query
            return extra_filter(query) if extra_filter else query

        return count_audience(
            session,
            purpose=campaign.purpose,
            channel=campaign.channel,
            at=moment,
            template_fields=usage.required,
            fallback_fields=usage.fallback,
            candidate_filter=candidate_filter,
        )

    return count


def forecast_campaign(session: Session, campaign: Campaign, at: datetime | None = None) -> Forecast:
    """Forecast ``campaign``'s audience at ``at``; raises ``InvalidInput`` for a bad segment."""
    moment = at or forecast_moment(campaign)
    segment = parse_segment(campaign.segment_json)
    count = audience_counter(session, campaign, moment)
    result = Forecast(at=moment, upper_bound=bool(segment.shared_fields))
    _add(result, count())
    result.holdout_estimate = round(result.eligible * campaign.holdout_percent / 100)
    fallback = campaign_field_usage(campaign_templates(session, campaign.id)).fallback
    if fallback:
        result.fallback_fields = tuple(sorted(fallback))
        personal = _shares_all(fallback, campaign.purpose)
        shared = count(lambda q: q.where(personal))
        result.personalised = sum(n for (outcome, _), n in shared.items() if outcome != "deny")
        result.with_fallback = result.eligible - result.personalised
    for zone in _zones(session):
        zone_counts = count(lambda q, z=zone: q.where(Customer.timezone == z))
        row = ZoneForecast(zone)
        for (outcome, _), n in zone_counts.items():
            _bump_zone(row, outcome, n)
        if row.allowed or row.deferred or row.denied:
            result.zones.append(row)
    return result


def _shares_all(fields: frozenset[str], purpose: str) -> ColumnElement[bool]:
    """The customer shares each of ``fields`` for ``purpose`` and holds a value for it."""
    return and_(*(shares_field(name, purpose) for name in sorted(fields)))


def _add(result: Forecast, counts: Counter) -> None:
    for (outcome, rule_id), n in sorted(counts.items()):
        result.candidates += n
        if outcome == "allow":
            result.allowed += n
        elif outcome == "defer":
            result.deferred += n
            result.deferred_by_rule[rule_id] = result.deferred_by_rule.get(rule_id, 0) + n
        else:
            result.denied += n
            result.excluded_by_rule[rule_id] = result.excluded_by_rule.get(rule_id, 0) + n


def _bump_zone(row: ZoneForecast, outcome: str, n: int) -> None:
    if outcome == "allow":
        row.allowed += n
    elif outcome == "defer":
        row.deferred += n
    else:
        row.denied += n


def _zones(session: Session) -> list[str]:
    """The most common customer time zones (at most :data:`MAX_ZONES`)."""
    query = (
        select(Customer.timezone)
        .where(Customer.erased_at.is_(None))
        .group_by(Customer.timezone)
        .order_by(func.count().desc(), Customer.timezone)
        .limit(MAX_ZONES)
    )
    return list(session.scalars(query))


def rule_label(rule_id: str) -> str:
    """A marketer-readable name of a policy rule."""
    return RULE_LABELS.get(rule_id, rule_id.replace("_", " "))
