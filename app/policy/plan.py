"""Compiled plans: everything that can be worked out once per (policy, purpose, channel).

A :class:`Plan` holds the applicable rules in order and every constant they need, so that a
decision only touches the customer's facts. Allow decisions and static denials are built once
and reused.
"""

from __future__ import annotations

from datetime import time, timedelta

from app.policy.decision import ALLOW, ALLOWED_RULE, DENY, Decision
from app.policy.deferrals import DEFER_RULES, DeferCheck
from app.policy.document import CONSENT_STATUSES, Policy, QuietHours
from app.policy.rules import DENY_RULES, DenyCheck

_NOT_WITHDRAWN = CONSENT_STATUSES - {"withdrawn"}
# Expired and pending consents pass lawful_basis so that the later rules name the reason.
_OPT_IN_STATUSES = frozenset({"granted", "pending", "expired"})
_DENIAL_CACHE_LIMIT = 512

QuietSegments = tuple[tuple[tuple[time, time | None], ...], ...]


class Plan:
    """The rules and constants for one (policy, purpose, channel); see :func:`compile_plan`."""

    __slots__ = (
        "_denials",
        "address_field",
        "allowed",
        "channel_id",
        "consent_key",
        "customer_limits",
        "defer_checks",
        "deny_checks",
        "label",
        "max_per_week",
        "minimum_age",
        "not_applicable",
        "policy",
        "policy_hash",
        "purpose_fields",
        "purpose_id",
        "quiet_segments",
        "require_confirmed",
        "required_statuses",
        "soft_opt_in_statuses",
        "suppression_keys",
        "transactional_allowed",
        "validity",
    )
    _denials: dict[tuple[str, str], Decision]
    address_field: str
    allowed: Decision
    channel_id: str
    consent_key: tuple[str, str]
    customer_limits: bool
    defer_checks: tuple[tuple[str, DeferCheck], ...]
    deny_checks: tuple[tuple[str, DenyCheck], ...]
    label: str
    max_per_week: int | None
    minimum_age: int
    not_applicable: frozenset[str]
    policy: Policy
    policy_hash: str
    purpose_fields: frozenset[str]
    purpose_id: str
    quiet_segments: QuietSegments
    require_confirmed: bool
    required_statuses: frozenset[str]
    soft_opt_in_statuses: frozenset[str]
    suppression_keys: frozenset[str]
    transactional_allowed: bool
    validity: timedelta | None

    def denial(self, rule_id: str, message: str) -> Decision:
        """A deny decision for ``rule_id``; identical denials are built once."""
        key = (rule_id, message)
        decision = self._denials.get(key)
        if decision is None:
            decision = Decision(DENY, rule_id, message, self.policy_hash)
            if len(self._denials) < _DENIAL_CACHE_LIMIT:
                self._denials[key] = decision
        return decision


def _quiet_segments(quiet_hours: tuple[QuietHours, ...], channel: str) -> QuietSegments:
    """Quiet periods for ``channel`` split per local weekday into non-wrapping segments."""
    days: list[list[tuple[time, time | None]]] = [[] for _ in range(7)]
    for quiet in quiet_hours:
        if channel not in quiet.channels:
            continue
        wraps = quiet.end is not None and quiet.end <= quiet.start
        for day in quiet.weekdays:
            days[day].append((quiet.start, None if wraps else quiet.end))
            if wraps:
                days[(day + 1) % 7].append((time(0), quiet.end))
    return tuple(tuple(day) for day in days)


def _lawful_statuses(
    policy: Policy, purpose_id: str, channel_id: str
) -> tuple[frozenset[str], frozenset[str], bool]:
    """Consent statuses that suffice, those that suffice for existing customers (soft opt-in),
    and whether the consent itself is then checked (expiry, double opt-in)."""
    basis = policy.purposes[purpose_id].lawful_basis
    if basis == "contract":
        return CONSENT_STATUSES, frozenset(), False
    if basis == "legitimate_interest" or policy.settings.model[channel_id] == "opt_out":
        # Allowed until the customer opts out (GDPR Art. 21, CAN-SPAM 15 U.S.C. 7704(a)(4)).
        return _NOT_WITHDRAWN, frozenset(), False
    soft = (
        frozenset({"none"}) if policy.soft_opt_in_applies(purpose_id, channel_id) else frozenset()
    )
    return _OPT_IN_STATUSES, soft, True


def compile_plan(policy: Policy, purpose_id: str, channel_id: str) -> Plan:
    """Work out the applicable rules and their constants for one purpose on one channel."""
    purpose, channel, settings = (
        policy.purposes[purpose_id],
        policy.channels[channel_id],
        policy.settings,
    )
    plan = Plan()
    plan.policy, plan.policy_hash = policy, policy.sha256
    plan.purpose_id, plan.channel_id, plan.address_field = (
        purpose_id,
        channel_id,
        channel.address_field,
    )
    plan.label = f"{purpose_id} by {channel_id}"
    plan.consent_key = (purpose_id, channel_id)
    plan.suppression_keys = frozenset({channel_id, "*"})
    plan.minimum_age = settings.minimum_age or 0
    required, soft, consent_checked = _lawful_statuses(policy, purpose_id, channel_id)
    plan.required_statuses, plan.soft_opt_in_statuses = required, soft
    days = purpose.consent_validity_days
    plan.validity = timedelta(days=days) if days else None
    plan.require_confirmed = channel.double_opt_in
    plan.purpose_fields = purpose.fields
    plan.customer_limits = settings.customer_limits_apply
    plan.max_per_week = None if purpose.transactional else settings.max_per_week.get(channel_id)
    plan.transactional_allowed = not purpose.direct_marketing
    plan.quiet_segments = _quiet_segments(settings.quiet_hours, channel_id)
    applicable = {
        "purpose_not_direct_marketing": not purpose.direct_marketing,
        "objection": purpose.direct_marketing or purpose.profiling,
        "suppression": True,
        "minimum_age": purpose.direct_marketing and plan.minimum_age > 0,
        "lawful_basis": True,
        "consent_expired": consent_checked,
        "double_opt_in": consent_checked,
        "channel_address": True,
        "data_minimisation": True,
        "pause": settings.customer_limits_apply,
        "frequency_cap": not purpose.transactional
        and (channel_id in settings.max_per_week or settings.customer_limits_apply),
        "quiet_hours": any(plan.quiet_segments),
        "contact_window": settings.customer_limits_apply,
    }
    plan.deny_checks = tuple((r, c) for r, c in DENY_RULES if applicable[r])
    plan.defer_checks = tuple((r, c) for r, c in DEFER_RULES if applicable[r])
    plan.not_applicable = frozenset(r for r, on in applicable.items() if not on)
    plan.allowed = Decision(
        ALLOW, ALLOWED_RULE, f"every rule passed for {plan.label}", policy.sha256
    )
    plan._denials = {}
    return plan


__all__ = ["DeferCheck", "DenyCheck", "Plan", "compile_plan"]
