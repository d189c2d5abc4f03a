"""Loading facts from the database, the fail-closed send-time check, audience counts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import update

from app.audience import count_audience, resolve_audience
from app.decisions.facts_db import load_facts
from app.decisions.send_check import decide_at_send, decide_batch_at_send
from app.policy import Intent
from app.vault.models import ContactPreferences
from tests.integration.test_policy_builders import AT, Profile, add_customer

FIELDS = frozenset({"first_name"})
GRANTED = {("offers", "email"): ("granted", True, 10, None)}


def allowed_profile(**changes) -> Profile:
    """A customer every rule passes for offers by e-mail at AT (Italy, 12:30 local)."""
    values = {"consents": dict(GRANTED), "shares": {"offers": ["first_name"]}} | changes
    return Profile(**values)


def test_load_facts_reads_every_table_timezone_aware(session):
    cid = add_customer(
        session,
        allowed_profile(
            existing=True,
            suppressions=("sms",),
            windows=[{"days": [2], "start": "09:00", "end": "24:00"}],
            weekly_cap=2,
            paused_days=-1.0,
            sends=(("email", 5, False), ("email", 6, True), ("email", 200, False)),
        ),
    )
    facts = load_facts(session, [cid, 999_999], at=AT)
    assert list(facts) == [cid]
    f = facts[cid]
    consent = f.consents["offers", "email"]
    assert consent.status == "granted" and consent.confirmed
    assert consent.granted_at == AT - timedelta(days=10)
    assert consent.granted_at.tzinfo is not None
    assert f.suppressions == {"sms"}
    assert f.verified_channels == {"email", "sms"}
    assert f.shared_fields == {"offers": {"first_name"}}
    assert f.contact_windows[0].weekdays == {2}
    assert f.contact_windows[0].end == time(0)
    assert f.weekly_cap == 2 and f.paused_until == AT - timedelta(days=1)
    # Only the non-transactional send inside the rolling 7 days counts.
    assert f.recent_sends == {"email": (AT - timedelta(hours=5),)}
    assert f.existing_customer and not f.objected


def test_erased_customers_are_not_loaded(session):
    cid = add_customer(session, allowed_profile(erased=True))
    assert load_facts(session, [cid], at=AT) == {}


def test_send_check_allows_then_honours_a_withdrawal(session):
    cid = add_customer(session, allowed_profile())
    intent = Intent("offers", "email", AT, FIELDS)
    assert decide_at_send(session, cid, intent).allowed
    from app.ledger.models import ConsentState

    session.execute(update(ConsentState).values(status="withdrawn"))
    decision = decide_at_send(session, cid, intent)
    assert decision.denied and decision.rule_id == "lawful_basis"


def test_send_check_denies_unknown_and_erased_customers(session):
    erased = add_customer(session, allowed_profile(erased=True))
    intent = Intent("offers", "email", AT, FIELDS)
    decisions = decide_batch_at_send(session, [erased, 424242], lambda _: intent)
    assert {d.rule_id for d in decisions.values()} == {"customer_unknown"}
    assert all(d.denied for d in decisions.values())


def test_send_check_fails_closed_without_personal_data_in_logs(session, caplog):
    good = add_customer(session, allowed_profile())
    bad = add_customer(session, allowed_profile(windows=[]))
    session.execute(
        update(ContactPreferences)
        .where(ContactPreferences.customer_id == bad)
        .values(windows_json="{not json")
    )
    intent = Intent("offers", "email", AT, FIELDS)
    with caplog.at_level(logging.WARNING):
        decisions = decide_batch_at_send(session, [good, bad], lambda _: intent)
    assert decisions[good].allowed
    assert decisions[bad].denied and decisions[bad].rule_id == "policy_error"
    assert str(bad) not in caplog.text and "not json" not in caplog.text


def test_send_check_turns_any_exception_into_a_denial(session):
    cid = add_customer(session, allowed_profile())

    def broken(_customer_id: int) -> Intent:
        raise RuntimeError("boom")

    decision = decide_batch_at_send(session, [cid], broken)[cid]
    assert decision.denied and decision.rule_id == "policy_error"
    naive = Intent("offers", "email", datetime(2024, 5, 15, 10, 30), FIELDS)
    assert decide_at_send(session, cid, naive).rule_id == "policy_error"


def test_audience_counts_and_ids_per_reason(session):
    allowed = add_customer(session, allowed_profile())
    objected = add_customer(session, allowed_profile(objected=True))
    no_consent = add_customer(session, Profile())
    unshared = add_customer(session, allowed_profile(shares={}))
    deferred = add_customer(session, allowed_profile(paused_days=2.0))
    add_customer(session, allowed_profile(erased=True))
    kwargs = {"purpose": "offers", "channel": "email", "at": AT, "template_fields": FIELDS}
    counts = count_audience(session, **kwargs)
    assert counts == {
        ("allow", "allowed"): 1,
        ("deny", "objection"): 1,
        ("deny", "lawful_basis"): 1,
        ("deny", "data_minimisation"): 1,
        ("defer", "pause"): 1,
    }
    decisions = dict(resolve_audience(session, **kwargs))
    assert decisions[allowed].allowed
    assert decisions[objected].rule_id == "objection"
    assert decisions[no_consent].rule_id == "lawful_basis"
    assert "first_name" in decisions[unshared].explanation
    assert decisions[deferred].defer_until == AT + timedelta(days=2)


def test_candidate_filter_narrows_the_audience(session):
    from app.customers.models import Customer

    add_customer(session, allowed_profile())
    us = add_customer(session, allowed_profile(jurisdiction="US", timezone="America/New_York"))
    decisions = dict(
        resolve_audience(
            session,
            purpose="offers",
            channel="email",
            at=AT,
            template_fields=FIELDS,
            candidate_filter=lambda q: q.where(Customer.jurisdiction == "US"),
        )
    )
    assert list(decisions) == [us]


def test_audience_refuses_a_naive_time(session):
    with pytest.raises(ValueError):
        count_audience(
            session,
            purpose="offers",
            channel="email",
            at=AT.replace(tzinfo=None),
            template_fields=FIELDS,
        )
    assert AT.tzinfo is UTC
