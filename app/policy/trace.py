"""Rule-by-rule reports for ``explain``: every rule is evaluated and reported, none skipped
silently. Used by ``flask policy explain`` and the compliance console."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from app.policy.decision import FAILED, PASSED, SKIPPED, RuleResult
from app.policy.deferrals import DEFER_RULES
from app.policy.document import Policy
from app.policy.facts import NO_CONSENT, CustomerFacts, Intent
from app.policy.plan import Plan
from app.policy.rules import DENY_RULES, DenyCheck
from app.policy.zones import zone_for

#: Every rule id, in the order the engine applies them.
RULE_ORDER: tuple[str, ...] = (
    "policy_error",
    "jurisdiction_unknown",
    "purpose_unknown",
    "channel_unknown",
    *(rule_id for rule_id, _ in DENY_RULES),
    "timezone_unknown",
    *(rule_id for rule_id, _ in DEFER_RULES),
)

_NOT_APPLICABLE = {
    "purpose_not_direct_marketing": "the purpose is direct marketing",
    "objection": "the purpose is neither direct marketing nor profiling",
    "minimum_age": "no minimum age applies to this purpose",
    "consent_expired": "the lawful basis relied on is not opt-in consent",
    "double_opt_in": "the lawful basis relied on is not opt-in consent",
    "pause": "customer limits do not apply in this jurisdiction",
    "frequency_cap": "no weekly cap applies (transactional purpose or none set)",
    "quiet_hours": "no legal quiet hours for this channel",
    "contact_window": "customer limits do not apply in this jurisdiction",
}

_PASSED = {
    "purpose_not_direct_marketing": "a relationship message, not a campaign message",
    "objection": "no objection to direct marketing",
    "suppression": "the address is not suppressed",
    "minimum_age": "the minimum age was confirmed",
    "consent_expired": "the consent is within its validity",
    "double_opt_in": "the consent is confirmed",
    "channel_address": "the address is present and verified",
    "data_minimisation": "every template field is allowed and shared for the purpose",
    "pause": "the customer has not paused messages",
    "frequency_cap": "under the weekly cap",
    "quiet_hours": "outside legal quiet hours",
    "contact_window": "inside one of the customer's contact windows (or none set)",
}


@lru_cache(maxsize=4096)
def _result(rule_id: str, status: str, message: str) -> RuleResult:
    """One rule's result; the same few results recur for most customers, so they are built
    once (a frozen dataclass costs microseconds to build, and explain runs at send time)."""
    return RuleResult(rule_id, status, message)


def trace_rules(
    policy: Policy | None, plan: Plan | None, customer: CustomerFacts, intent: Intent
) -> tuple[RuleResult, ...]:
    """Report each rule of :data:`RULE_ORDER` for this customer and intent."""
    results = [_result("policy_error", PASSED, "the policy set is loaded")]
    results.extend(_lookups(policy, customer, intent))
    if plan is None:
        reached = {r.rule_id for r in results}
        results.extend(
            _result(r, SKIPPED, "not reached: no policy, purpose or channel to apply")
            for r in RULE_ORDER
            if r not in reached
        )
        return tuple(results)
    for rule_id, check in DENY_RULES:
        results.append(_deny_result(plan, rule_id, check, customer, intent))
    zone = zone_for(customer.timezone)
    if zone is None:
        results.append(_result("timezone_unknown", FAILED, "the time zone is unknown"))
    else:
        results.append(_result("timezone_unknown", PASSED, "the time zone is known"))
    for rule_id, defer_check in DEFER_RULES:
        if rule_id in plan.not_applicable:
            results.append(_result(rule_id, SKIPPED, _NOT_APPLICABLE[rule_id]))
        elif zone is None:
            results.append(_result(rule_id, SKIPPED, "needs the customer's time zone"))
        else:
            local = intent.at.astimezone(UTC).astimezone(zone)
            outcome = defer_check(plan, customer, intent, intent.at, local)
            results.append(_defer_result(rule_id, outcome))
    return tuple(results)


def _lookups(policy: Policy | None, customer: CustomerFacts, intent: Intent) -> list[RuleResult]:
    if policy is None:
        return [_result("jurisdiction_unknown", FAILED, "no policy governs the jurisdiction")]
    how = "claims" if customer.jurisdiction in policy.jurisdictions else "is the default for"
    results = [
        _result(
            "jurisdiction_unknown",
            PASSED,
            f"policy {policy.policy_id} {policy.version} {how} {customer.jurisdiction}",
        )
    ]
    known = intent.purpose in policy.purposes
    results.append(
        _result("purpose_unknown", PASSED if known else FAILED, f"purpose {intent.purpose!r}")
    )
    known = intent.channel in policy.channels
    results.append(
        _result("channel_unknown", PASSED if known else FAILED, f"channel {intent.channel!r}")
    )
    return results


def _deny_result(
    plan: Plan, rule_id: str, check: DenyCheck, customer: CustomerFacts, intent: Intent
) -> RuleResult:
    if rule_id in plan.not_applicable:
        return _result(rule_id, SKIPPED, _NOT_APPLICABLE[rule_id])
    message = check(plan, customer, intent)
    if message is not None:
        return _result(rule_id, FAILED, message)
    if rule_id == "lawful_basis":
        return _result(rule_id, PASSED, _basis_message(plan, customer))
    if rule_id == "minimum_age":
        return _result(rule_id, PASSED, f"age {plan.minimum_age}+ confirmed")
    return _result(rule_id, PASSED, _PASSED[rule_id])


def _basis_message(plan: Plan, customer: CustomerFacts) -> str:
    purpose = plan.policy.purposes[plan.purpose_id]
    status = customer.consents.get(plan.consent_key, NO_CONSENT).status
    if status not in plan.required_statuses:
        return "soft opt-in: existing customer who has not opted out (ePrivacy Art. 13(2))"
    model = plan.policy.settings.model[plan.channel_id]
    return f"lawful basis {purpose.lawful_basis} ({model} model), consent status {status}"


def _defer_result(rule_id: str, outcome: datetime | str | None) -> RuleResult:
    if outcome is None:
        return _result(rule_id, PASSED, _PASSED[rule_id])
    if isinstance(outcome, str):
        return _result(rule_id, FAILED, outcome)
    return _result(rule_id, FAILED, f"not before {outcome.isoformat()}")
