"""The deny rules, one by one, on both sides; fail-closed behaviour; explain; CAN-SPAM."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

import pytest

from app.policy import (
    RULE_ORDER,
    ConsentFact,
    PolicySet,
    count_outcomes,
    decide,
    decide_many,
    explain,
)
from tests.unit.test_policy_support import (
    AT,
    EU,
    POLICY_SET,
    US,
    customer,
    granted,
    intent,
)

NO_CONSENT = ConsentFact("none", None, None, None, False)


def outcome(c=None, i=None, policy_set=POLICY_SET) -> tuple[str, str]:
    decision = decide(policy_set, c or customer(), i or intent())
    return decision.outcome, decision.rule_id


def consents(status: ConsentFact, purpose="offers", channel="email"):
    return {**customer().consents, (purpose, channel): status}


def test_allow_when_every_rule_passes_records_the_policy_hash():
    decision = decide(POLICY_SET, customer(), intent())
    assert (decision.outcome, decision.rule_id) == ("allow", "allowed")
    assert decision.policy_hash == EU.sha256 and decision.defer_until is None
    assert decision.allowed and not decision.denied and decision.trace == ()


def test_unknown_jurisdiction_denies_unless_a_default_is_declared():
    no_default = PolicySet([dataclasses.replace(EU, default=False), US])
    assert outcome(customer(jurisdiction="CH"), policy_set=no_default) == (
        "deny",
        "jurisdiction_unknown",
    )
    assert (
        decide(no_default, customer(jurisdiction="CH"), intent()).policy_hash == no_default.sha256
    )
    assert outcome(customer(jurisdiction="CH")) == ("allow", "allowed")


def test_unknown_purpose_and_channel():
    assert outcome(i=intent(purpose="lottery")) == ("deny", "purpose_unknown")
    assert outcome(i=intent(channel="fax")) == ("deny", "channel_unknown")


def test_objection_blocks_every_direct_marketing_purpose_but_not_relationship_messages():
    objected = customer(objected=True)
    for purpose in ("offers", "birthday", "recommendations", "surveys", "partners"):
        assert outcome(objected, intent(purpose, template_fields=())) == ("deny", "objection")
    service = intent("service", template_fields={"first_name"}, transactional=True)
    assert outcome(objected, service) == ("allow", "allowed")


@pytest.mark.parametrize("jurisdiction", ["IT", "US"])
def test_a_campaign_message_under_a_purpose_that_is_not_direct_marketing_is_denied(jurisdiction):
    # "Big SALE {{ first_name }}" under the service purpose (contract basis, no consent needed)
    # reached customers who objected to all direct marketing and customers without consent.
    sale = intent("service", template_fields={"first_name"}, at=AT + timedelta(hours=6))
    people = [
        customer(jurisdiction=jurisdiction),
        customer(jurisdiction=jurisdiction, objected=True),
        customer(jurisdiction=jurisdiction, consents={}),
    ]
    for person in people:
        decision = decide(POLICY_SET, person, sale)
        assert (decision.outcome, decision.rule_id) == ("deny", "purpose_not_direct_marketing")
        assert "'service' is not direct marketing" in decision.explanation
    relationship = dataclasses.replace(sale, transactional=True)
    assert outcome(people[2], relationship) == ("allow", "allowed")


def test_a_relationship_message_cannot_skip_the_rules_of_a_marketing_purpose():
    claimed = intent(transactional=True)
    assert outcome(customer(objected=True), claimed) == ("deny", "objection")
    assert outcome(customer(consents={}), claimed) == ("deny", "lawful_basis")


@pytest.mark.parametrize(
    ("suppressions", "expected"),
    [({"email"}, "deny"), ({"*"}, "deny"), ({"sms"}, "allow"), (set(), "allow")],
)
def test_suppression(suppressions, expected):
    assert outcome(customer(suppressions=frozenset(suppressions)))[0] == expected


@pytest.mark.parametrize(("age", "expected"), [(None, "deny"), (15, "deny"), (16, "allow")])
def test_minimum_age_of_sixteen_in_the_eu(age, expected):
    result = outcome(customer(age_attested=age))
    assert result[0] == expected
    if expected == "deny":
        assert result[1] == "minimum_age"


def test_minimum_age_of_thirteen_in_the_us():
    us = customer(jurisdiction="US", timezone="America/New_York", age_attested=13)
    assert outcome(us, intent(at=AT + timedelta(hours=6))) == ("allow", "allowed")
    assert outcome(dataclasses.replace(us, age_attested=12)) == ("deny", "minimum_age")


@pytest.mark.parametrize("status", ["none", "withdrawn"])
def test_lawful_basis_needs_consent(status):
    c = customer(consents=consents(ConsentFact(status, None, None, None, False)))
    assert outcome(c) == ("deny", "lawful_basis")


def test_soft_opt_in_for_existing_customers_on_email_offers_only():
    c = customer(consents={}, existing_customer=True)
    assert outcome(c) == ("allow", "allowed")
    assert outcome(c, intent("partners")) == ("deny", "lawful_basis")
    assert outcome(c, intent(channel="sms", at=AT)) == ("deny", "lawful_basis")
    assert outcome(dataclasses.replace(c, existing_customer=False)) == ("deny", "lawful_basis")
    opted_out = customer(consents=consents(ConsentFact("withdrawn")), existing_customer=True)
    assert outcome(opted_out) == ("deny", "lawful_basis")


def test_consent_expired():
    assert outcome(customer(consents=consents(ConsentFact("expired")))) == (
        "deny",
        "consent_expired",
    )
    past = granted(expires_at=AT - timedelta(seconds=1))
    assert outcome(customer(consents=consents(past))) == ("deny", "consent_expired")
    future = granted(expires_at=AT + timedelta(days=1))
    assert outcome(customer(consents=consents(future))) == ("allow", "allowed")
    assert outcome(customer(consents=consents(granted(days_ago=731)))) == (
        "deny",
        "consent_expired",
    )
    assert outcome(customer(consents=consents(granted(days_ago=729)))) == ("allow", "allowed")
    undated = granted(granted_at=None)
    assert outcome(customer(consents=consents(undated))) == ("deny", "consent_expired")


def test_profiling_consent_is_valid_for_a_year():
    old = consents(granted(days_ago=400), "recommendations")
    c = customer(consents=old)
    i = intent("recommendations", template_fields={"interests"})
    assert outcome(c, i) == ("deny", "consent_expired")


def test_double_opt_in():
    assert outcome(customer(consents=consents(ConsentFact("pending")))) == (
        "deny",
        "double_opt_in",
    )
    unconfirmed = customer(consents=consents(granted(confirmed=False)))
    assert outcome(unconfirmed) == ("deny", "double_opt_in")


def test_channel_address_must_be_present_and_verified():
    assert outcome(customer(verified_channels=frozenset({"sms"}))) == ("deny", "channel_address")


def test_data_minimisation_names_the_fields_and_never_sends_a_blank():
    not_allowed = decide(POLICY_SET, customer(), intent(template_fields={"birthday", "city"}))
    assert (not_allowed.outcome, not_allowed.rule_id) == ("deny", "data_minimisation")
    assert "birthday" in not_allowed.explanation and "city" not in not_allowed.explanation
    shared = {**customer().shared_fields, "offers": frozenset({"language"})}
    not_shared = decide(POLICY_SET, customer(shared_fields=shared), intent())
    assert (not_shared.outcome, not_shared.rule_id) == ("deny", "data_minimisation")
    assert "first_name" in not_shared.explanation
    assert outcome(customer(shared_fields={}), intent(template_fields=())) == ("allow", "allowed")


def test_a_field_with_a_fallback_need_not_be_shared_but_must_be_allowed():
    nothing_shared = customer(shared_fields={})
    fallback = intent(template_fields=(), fallback_fields=frozenset({"first_name"}))
    assert outcome(nothing_shared, fallback) == ("allow", "allowed")
    forbidden = intent(template_fields=(), fallback_fields=frozenset({"birthday"}))
    decision = decide(POLICY_SET, customer(), forbidden)
    assert (decision.outcome, decision.rule_id) == ("deny", "data_minimisation")
    assert "birthday" in decision.explanation


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "", "Europe/"])
def test_unknown_time_zone_denies_without_crashing(zone):
    decision = decide(POLICY_SET, customer(timezone=zone), intent())
    assert (decision.outcome, decision.rule_id) == ("deny", "timezone_unknown")
    assert zone not in decision.explanation or zone == ""


def test_an_exception_while_deciding_fails_closed_and_logs_no_personal_data(caplog):
    class Exploding(dict):
        def get(self, *args):
            raise RuntimeError("mario.rossi@example.com")

    with caplog.at_level(logging.WARNING, logger="app.policy"):
        decision = decide(POLICY_SET, customer(consents=Exploding()), intent())
    assert (decision.outcome, decision.rule_id) == ("deny", "policy_error")
    assert "RuntimeError" in caplog.text and "example.com" not in caplog.text
    assert "example.com" not in decision.explanation


def test_naive_time_and_missing_policy_set_fail_closed():
    naive = intent(at=AT.replace(tzinfo=None))
    assert outcome(i=naive) == ("deny", "policy_error")
    assert decide(None, customer(), intent()).rule_id == "policy_error"  # type: ignore[arg-type]


def test_explain_reports_every_rule_in_order_and_agrees_with_decide():
    c = customer(objected=True, verified_channels=frozenset())
    explained = explain(POLICY_SET, c, intent())
    plain = decide(POLICY_SET, c, intent())
    assert dataclasses.replace(explained, trace=()) == plain
    assert tuple(r.rule_id for r in explained.trace) == RULE_ORDER
    statuses = {r.rule_id: r.status for r in explained.trace}
    assert statuses["objection"] == statuses["channel_address"] == "failed"
    assert statuses["lawful_basis"] == "passed"
    assert statuses["purpose_not_direct_marketing"] == "skipped"
    campaign = explain(POLICY_SET, customer(), intent("service"))
    assert campaign.rule_id == "purpose_not_direct_marketing"
    trace = {r.rule_id: (r.status, r.message) for r in campaign.trace}
    assert trace["purpose_not_direct_marketing"][0] == "failed"
    assert trace["objection"] == (
        "skipped",
        "the purpose is neither direct marketing nor profiling",
    )
    allowed = explain(POLICY_SET, customer(), intent())
    assert allowed.allowed and {r.status for r in allowed.trace} <= {"passed", "skipped"}


def test_explain_of_an_unknown_jurisdiction_skips_what_cannot_be_reached():
    no_default = PolicySet([dataclasses.replace(EU, default=False)])
    explained = explain(no_default, customer(jurisdiction="CH"), intent())
    assert explained.rule_id == "jurisdiction_unknown"
    assert [r.status for r in explained.trace[1:3]] == ["failed", "skipped"]
    assert tuple(r.rule_id for r in explained.trace) == RULE_ORDER


def test_can_spam_email_is_opt_out():
    base = customer(jurisdiction="US", timezone="America/Chicago", consents={})
    evening = AT + timedelta(hours=12)  # 17:30 in Chicago
    assert outcome(base, intent(at=evening)) == ("allow", "allowed")
    unconfirmed = dataclasses.replace(base, consents=consents(granted(confirmed=False)))
    assert outcome(unconfirmed, intent(at=evening)) == ("allow", "allowed")
    opted_out = dataclasses.replace(base, consents=consents(ConsentFact("withdrawn")))
    assert outcome(opted_out, intent(at=evening)) == ("deny", "lawful_basis")
    assert outcome(dataclasses.replace(base, objected=True)) == ("deny", "objection")
    unverified = dataclasses.replace(base, verified_channels=frozenset({"sms"}))
    assert outcome(unverified, intent(at=evening)) == ("deny", "channel_address")


def test_can_spam_sms_still_needs_express_consent_and_calling_hours():
    base = customer(jurisdiction="US", timezone="America/Chicago", consents={})
    sms = intent(channel="sms", at=AT + timedelta(hours=12))
    assert outcome(base, sms) == ("deny", "lawful_basis")
    consented = dataclasses.replace(base, consents=consents(granted(), channel="sms"))
    assert outcome(consented, sms) == ("allow", "allowed")
    night = intent(channel="sms", at=AT + timedelta(hours=20))  # 01:30 in Chicago
    decision = decide(POLICY_SET, consented, night)
    assert (decision.outcome, decision.rule_id) == ("defer", "quiet_hours")
    assert decision.defer_until == AT + timedelta(hours=27, minutes=-30)  # 08:00 CDT
    email_night = intent(at=AT + timedelta(hours=20))
    assert outcome(consented, email_night) == ("allow", "allowed")


def test_decide_many_and_counts():
    people = [customer(), customer(objected=True), customer(age_attested=None), customer()]
    decisions = list(decide_many(POLICY_SET, people, intent()))
    assert [d.outcome for d in decisions] == ["allow", "deny", "deny", "allow"]
    counts = count_outcomes(decisions)
    assert counts[("allow", "allowed")] == 2
    assert counts[("deny", "objection")] == counts[("deny", "minimum_age")] == 1
