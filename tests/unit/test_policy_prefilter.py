"""Set-wise support: the prefilter mirrors exactly the engine's coarse deny rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.audience.prefilter import PREFILTER_RULES, prefilter_for
from app.policy import ConsentFact, decide
from tests.unit.test_policy_support import (
    AT,
    POLICY_SET,
    customer,
    customers,
    granted,
    intent,
    intents,
    policy_sets,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_sets, intents(), st.sampled_from(("IT", "US", "CH")), st.data())
def test_first_failure_predicts_decide_exactly(policy_set, i, jurisdiction, data):
    prefilter = prefilter_for(policy_set, jurisdiction, i)
    for c in data.draw(st.lists(customers(i.at, (jurisdiction,)), min_size=1, max_size=5)):
        rule = prefilter.first_failure(c)
        decision = decide(policy_set, c, i)
        if rule is not None:
            assert (decision.outcome, decision.rule_id) == ("deny", rule)
        else:
            assert decision.rule_id not in PREFILTER_RULES


def test_prefilter_for_offers_by_email_in_italy():
    prefilter = prefilter_for(POLICY_SET, "IT", intent())
    assert prefilter.deny_all_rule is None
    assert prefilter.exclude_objected and prefilter.minimum_age == 16
    assert prefilter.excluded_suppressions == {"email", "*"}
    assert prefilter.required_consent_statuses == {"granted", "pending", "expired"}
    assert prefilter.soft_opt_in_statuses == {"none"}
    assert prefilter.check_consent_expiry and prefilter.check_double_opt_in
    assert prefilter.consent_granted_after == AT - timedelta(days=730)
    assert prefilter.require_confirmed and prefilter.require_verified_channel == "email"
    assert prefilter.required_shared_fields == {"first_name", "language"}
    assert (
        prefilter.rule_order[0] == "objection" and prefilter.rule_order[-1] == "data_minimisation"
    )
    assert prefilter.first_failure(customer()) is None
    assert prefilter.first_failure(customer(objected=True)) == "objection"
    pending = {("offers", "email"): ConsentFact("pending")}
    assert prefilter.first_failure(customer(consents=pending)) == "double_opt_in"
    old = {("offers", "email"): granted(days_ago=800)}
    assert prefilter.first_failure(customer(consents=old)) == "consent_expired"


def test_prefilter_for_can_spam_email_needs_no_consent_row():
    prefilter = prefilter_for(POLICY_SET, "US", intent())
    assert prefilter.required_consent_statuses == {"granted", "pending", "expired", "none"}
    assert not prefilter.check_consent_expiry and not prefilter.check_double_opt_in
    assert prefilter.minimum_age == 13


def test_prefilter_denies_everyone_for_unknown_purpose_or_forbidden_field():
    assert prefilter_for(POLICY_SET, "IT", intent("lottery")).deny_all_rule == "purpose_unknown"
    campaign = prefilter_for(POLICY_SET, "US", intent("service"))
    assert campaign.deny_all_rule == "purpose_not_direct_marketing"
    assert campaign.first_failure(customer(jurisdiction="US")) == "purpose_not_direct_marketing"
    relationship = prefilter_for(POLICY_SET, "IT", intent("service", transactional=True))
    assert relationship.deny_all_rule is None
    assert "purpose_not_direct_marketing" not in relationship.rule_order
    forbidden = prefilter_for(POLICY_SET, "IT", intent(template_fields={"birthday"}))
    assert forbidden.disallowed_template_fields == {"birthday"}
    assert forbidden.first_failure(customer()) == "data_minimisation"
    assert forbidden.first_failure(customer(objected=True)) == "objection"
    with pytest.raises(ValueError, match="another jurisdiction"):
        forbidden.first_failure(customer(jurisdiction="US"))
