"""Properties over random policies, customers and moments (Hypothesis)."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.policy import decide, explain
from app.policy.zones import zone_for
from tests.unit.test_policy_support import customers, intents, policy_sets

DEFERRAL_RULES = ("pause", "frequency_cap", "quiet_hours", "contact_window")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def deny_conditions(policy_set, c, i) -> list[str]:
    """Conditions under which no message may go out, written independently of the engine."""
    policy = policy_set.for_jurisdiction(c.jurisdiction)
    if policy is None or i.purpose not in policy.purposes or i.channel not in policy.channels:
        return ["unknown jurisdiction, purpose or channel"]
    purpose, settings_ = policy.purposes[i.purpose], policy.settings
    consent = c.consents.get((i.purpose, i.channel))
    status = consent.status if consent else "none"
    opt_in_consent = purpose.lawful_basis == "consent" and settings_.model[i.channel] == "opt_in"
    soft = policy.soft_opt_in_applies(i.purpose, i.channel) and c.existing_customer
    found = []
    if not purpose.direct_marketing and not i.transactional:
        found.append("campaign message under a purpose that is not direct marketing")
    if c.objected and (purpose.direct_marketing or purpose.profiling):
        found.append("objected")
    if {"*", i.channel} & c.suppressions:
        found.append("suppressed")
    minimum = settings_.minimum_age if purpose.direct_marketing else None
    if minimum and (c.age_attested is None or c.age_attested < minimum):
        found.append("under age")
    if status == "withdrawn" and purpose.lawful_basis != "contract":
        found.append("withdrawn")
    if (
        opt_in_consent
        and status in ("none", "expired", "pending")
        and not (soft and status == "none")
    ):
        found.append("no valid consent")
    if opt_in_consent and status == "granted":
        if policy.channels[i.channel].double_opt_in and not consent.confirmed:
            found.append("unconfirmed")
        if consent.expires_at is not None and consent.expires_at <= i.at:
            found.append("expired")
    if i.channel not in c.verified_channels:
        found.append("unverified address")
    if not i.template_fields <= purpose.fields & c.shared_fields.get(i.purpose, frozenset()):
        found.append("field not allowed or not shared")
    if not i.fallback_fields <= purpose.fields:
        found.append("field with a fallback not allowed")
    if zone_for(c.timezone) is None:
        found.append("unknown time zone")
    return found


@st.composite
def cases(draw):
    policy_set = draw(policy_sets)
    i = draw(intents())
    return policy_set, draw(customers(i.at)), i


@PROPERTY
@given(cases())
def test_never_allow_when_a_deny_condition_holds(case):
    policy_set, c, i = case
    decision = decide(policy_set, c, i)
    conditions = deny_conditions(policy_set, c, i)
    if conditions:
        assert decision.outcome == "deny", conditions
    assert decision.rule_id != "policy_error"


@PROPERTY
@given(cases())
def test_deferral_moments_satisfy_every_deferral_rule(case):
    policy_set, c, i = case
    decision = decide(policy_set, c, i)
    if decision.outcome != "defer":
        return
    assert decision.defer_until > i.at
    later = dataclasses.replace(i, at=decision.defer_until)
    trace = explain(policy_set, c, later).trace
    failed = [r for r in trace if r.rule_id in DEFERRAL_RULES and r.status == "failed"]
    assert failed == []
    again = decide(policy_set, c, later)
    assert again.outcome in ("allow", "deny")


@PROPERTY
@given(cases())
def test_explain_agrees_with_decide_and_reports_the_deciding_rule(case):
    policy_set, c, i = case
    decision = decide(policy_set, c, i)
    explained = explain(policy_set, c, i)
    assert dataclasses.replace(explained, trace=()) == decision
    statuses = {r.rule_id: r.status for r in explained.trace}
    if decision.outcome == "allow":
        assert "failed" not in statuses.values()
    else:
        assert statuses[decision.rule_id] == "failed"
