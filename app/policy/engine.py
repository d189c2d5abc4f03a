"""Deciding whether a message may be sent: :func:`decide`, :func:`explain`, :func:`decide_many`.

The engine fails closed. Only after every applicable rule passed is a message allowed; an
unknown jurisdiction, purpose, channel or time zone denies; any exception while deciding
denies with rule ``policy_error`` and logs a warning that carries no personal data.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC

from app.policy.decision import DEFER, DENY, FAILED, Decision, RuleResult
from app.policy.deferrals import settle
from app.policy.facts import CustomerFacts, Intent
from app.policy.plan import Plan, compile_plan
from app.policy.policyset import PolicySet
from app.policy.trace import trace_rules
from app.policy.zones import ZONE_CACHE, zone_for

logger = logging.getLogger(__name__)

LOOKUP_RULES = ("jurisdiction_unknown", "purpose_unknown", "channel_unknown")
TIMEZONE_RULE = "timezone_unknown"
POLICY_ERROR = "policy_error"
_PLAN_CACHE_LIMIT = 4096
_TIMEZONE_MESSAGE = "the customer's time zone is unknown, so their local time cannot be known"


def resolve(
    policy_set: PolicySet, jurisdiction: str, purpose: str, channel: str
) -> Plan | Decision:
    """The compiled plan for a message, or the denial when jurisdiction, purpose or channel is
    unknown. Results are cached on the policy set."""
    key = (jurisdiction, purpose, channel)
    found = policy_set._plans.get(key)
    if found is not None:
        return found
    policy = policy_set.for_jurisdiction(jurisdiction)
    result: Plan | Decision
    if policy is None:
        result = Decision(
            DENY,
            "jurisdiction_unknown",
            f"no policy governs jurisdiction {jurisdiction!r}",
            policy_set.sha256,
        )
    elif purpose not in policy.purposes:
        message = f"purpose {purpose!r} is not declared by policy {policy.policy_id}"
        result = Decision(DENY, "purpose_unknown", message, policy.sha256)
    elif channel not in policy.channels:
        message = f"channel {channel!r} is not declared by policy {policy.policy_id}"
        result = Decision(DENY, "channel_unknown", message, policy.sha256)
    else:
        result = compile_plan(policy, purpose, channel)
    if len(policy_set._plans) < _PLAN_CACHE_LIMIT:
        policy_set._plans[key] = result
    return result


def run_plan(plan: Plan, customer: CustomerFacts, intent: Intent) -> Decision:
    """Apply a compiled plan: deny rules in order, the time zone, then the deferral search."""
    if intent.at.tzinfo is None:
        raise ValueError("intent.at must be timezone-aware")
    for rule_id, check in plan.deny_checks:
        message = check(plan, customer, intent)
        if message is not None:
            return plan.denial(rule_id, message)
    zone = ZONE_CACHE.get(customer.timezone) or zone_for(customer.timezone)
    if zone is None:
        return plan.denial(TIMEZONE_RULE, _TIMEZONE_MESSAGE)
    if plan.defer_checks:
        found = settle(plan, customer, intent, zone)
        if found is not None:
            rule_id, until = found
            if isinstance(until, str):
                return plan.denial(rule_id, until)
            until = until.astimezone(UTC)
            explanation = (
                f"{rule_id} defers {plan.label} until {until.isoformat()}, "
                "when every deferral rule is satisfied"
            )
            return Decision(DEFER, rule_id, explanation, plan.policy_hash, until)
    return plan.allowed


def policy_error(policy_set: object, intent: object, exc: BaseException) -> Decision:
    """The fail-closed denial for an exception while deciding; logs without personal data."""
    purpose = getattr(intent, "purpose", "?")
    channel = getattr(intent, "channel", "?")
    logger.warning(
        "policy evaluation failed (%s) for purpose %.40r on channel %.40r; message denied",
        type(exc).__name__,
        purpose,
        channel,
    )
    policy_hash = getattr(policy_set, "sha256", "") or ""
    explanation = f"evaluation failed ({type(exc).__name__}); denied to fail closed"
    return Decision(DENY, POLICY_ERROR, explanation, policy_hash)


def decide(policy_set: PolicySet, customer: CustomerFacts, intent: Intent) -> Decision:
    """Allow, deny or defer one message to one customer (no trace; see :func:`explain`)."""
    try:
        plan = policy_set._plans.get((customer.jurisdiction, intent.purpose, intent.channel))
        if plan is None:
            plan = resolve(policy_set, customer.jurisdiction, intent.purpose, intent.channel)
        if isinstance(plan, Plan):
            return run_plan(plan, customer, intent)
        return plan
    except Exception as exc:
        return policy_error(policy_set, intent, exc)


def decide_many(
    policy_set: PolicySet, customers: Iterable[CustomerFacts], intent: Intent
) -> Iterator[Decision]:
    """Decide the same intent for many customers, lazily and in order."""
    for customer in customers:
        yield decide(policy_set, customer, intent)


def count_outcomes(decisions: Iterable[Decision]) -> Counter[tuple[str, str]]:
    """How many decisions ended with each (outcome, rule_id), e.g. ``("deny", "objection")``."""
    return Counter((d.outcome, d.rule_id) for d in decisions)


def explain(policy_set: PolicySet, customer: CustomerFacts, intent: Intent) -> Decision:
    """The decision of :func:`decide` with a trace reporting every rule, one by one."""
    decision = decide(policy_set, customer, intent)
    try:
        policy = policy_set.for_jurisdiction(customer.jurisdiction)
        found = resolve(policy_set, customer.jurisdiction, intent.purpose, intent.channel)
        plan = found if isinstance(found, Plan) else None
        trace = trace_rules(policy, plan, customer, intent)
    except Exception as exc:
        trace = (RuleResult(POLICY_ERROR, FAILED, f"evaluation failed ({type(exc).__name__})"),)
    return replace(decision, trace=trace)
