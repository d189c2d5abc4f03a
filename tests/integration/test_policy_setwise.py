"""The set-wise audience equals the engine's decision on each customer's loaded facts."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.audience import count_audience, resolve_audience
from app.decisions.facts_db import load_facts
from app.policy import Intent, PolicySet, decide, load_policies
from tests.integration.test_policy_builders import AT, Profile, add_customer, clear_customers

POLICIES = load_policies("policies")
US_ONLY = PolicySet([p for p in POLICIES.policies if p.policy_id == "us-can-spam"])
_VARIANTS = tempfile.TemporaryDirectory(prefix="policy-variants-")


def _eu_variant(name: str, max_per_week: str, customer_limits: str = "true") -> PolicySet:
    """The EU policy alone with another weekly maximum (and customer limits), so that the
    audience's send threshold takes its other forms: none at all, or a single send."""
    text = Path("policies/eu-gdpr.yaml").read_text()
    text = text.replace("max_per_week: {email: 3, sms: 2}", f"max_per_week: {max_per_week}")
    text = text.replace("customer_limits_apply: true", f"customer_limits_apply: {customer_limits}")
    folder = Path(_VARIANTS.name) / name
    folder.mkdir()
    (folder / "eu-gdpr.yaml").write_text(text)
    return load_policies(folder)


NO_WEEKLY_MAXIMUM = _eu_variant("no-maximum", "{}")
ONE_A_WEEK = _eu_variant("one-a-week", "{email: 1, sms: 1}")
OWN_CAPS_IGNORED = _eu_variant("caps-ignored", "{email: 2, sms: 2}", "false")
PURPOSES = ["offers", "birthday", "recommendations", "surveys", "service", "unknown"]
CHANNELS = ["email", "sms", "fax"]
FIELDS = ["first_name", "last_name", "language", "city", "birthday", "interests"]
STATUSES = ["granted"] * 4 + ["pending", "withdrawn", "expired", "none"]

consent = st.tuples(
    st.sampled_from(STATUSES),
    st.sampled_from([True, True, True, False]),
    st.one_of(st.none(), st.integers(0, 800)),
    st.one_of(st.none(), st.integers(-5, 5)),
)
window = st.fixed_dictionaries(
    {
        "days": st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
        "start": st.sampled_from(["00:00", "08:00", "12:30", "21:00"]),
        "end": st.sampled_from(["00:00", "09:00", "18:00", "24:00"]),
    }
)
profiles = st.builds(
    Profile,
    jurisdiction=st.sampled_from(["IT", "IT", "DE", "US", "US", "EU", "XX"]),
    timezone=st.sampled_from(["Europe/Rome", "America/New_York", "Asia/Tokyo", "Bad/Zone"]),
    age=st.one_of(st.none(), st.integers(10, 40), st.just(30), st.just(30)),
    email_verified=st.sampled_from([True, True, True, False]),
    phone_verified=st.sampled_from([True, True, True, False]),
    objected=st.integers(0, 7).map(lambda n: n == 0),
    existing=st.booleans(),
    erased=st.integers(0, 9).map(lambda n: n == 0),
    consents=st.dictionaries(
        st.tuples(st.sampled_from(PURPOSES[:4]), st.sampled_from(CHANNELS[:2])),
        consent,
        min_size=5,
    ),
    suppressions=st.one_of(
        st.just(()), st.just(()), st.lists(st.sampled_from(["email", "sms", "*"]), max_size=2)
    ).map(lambda s: tuple(set(s))),
    shares=st.dictionaries(
        st.sampled_from(PURPOSES[:4]),
        st.one_of(st.just(FIELDS), st.lists(st.sampled_from(FIELDS), unique=True, max_size=6)),
        min_size=2,
    ),
    unshared=st.dictionaries(
        st.sampled_from(PURPOSES[:4]), st.lists(st.sampled_from(FIELDS), unique=True, max_size=6)
    ),
    windows=st.one_of(st.none(), st.lists(window, max_size=2)),
    weekly_cap=st.one_of(st.none(), st.integers(0, 4)),
    paused_days=st.one_of(st.none(), st.sampled_from([-1.0, 0.5, 3.0])),
    sends=st.lists(
        st.tuples(st.sampled_from(CHANNELS[:2]), st.integers(-5, 200), st.booleans()), max_size=7
    ).map(tuple),
)
intents = st.fixed_dictionaries(
    {
        "purpose": st.sampled_from(PURPOSES[:5] * 4 + ["unknown"]),
        "channel": st.sampled_from(CHANNELS[:2] * 5 + ["fax"]),
        "at": st.integers(0, 7 * 24 * 4).map(lambda q: AT + timedelta(minutes=15 * q)),
        "template_fields": st.frozensets(st.sampled_from(FIELDS[:3]), max_size=2),
        "transactional": st.booleans(),
    }
)


SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
POLICY_SETS = [POLICIES, POLICIES, POLICIES, US_ONLY, NO_WEEKLY_MAXIMUM, ONE_A_WEEK]
POLICY_SETS.append(OWN_CAPS_IGNORED)


def _assert_setwise_equals_decide(session, customers, intent, policy_set, batch_size):
    clear_customers(session)
    ids = [add_customer(session, profile) for profile in customers]
    facts = load_facts(session, ids, at=intent["at"])
    engine_intent = Intent(**intent)
    expected = {cid: decide(policy_set, f, engine_intent) for cid, f in facts.items()}

    resolved = list(
        resolve_audience(session, **intent, policy_set=policy_set, batch_size=batch_size)
    )
    counts = count_audience(session, **intent, policy_set=policy_set, batch_size=batch_size)

    assert len(resolved) == len(expected)
    assert dict(resolved) == expected
    assert counts == Counter((d.outcome, d.rule_id) for d in expected.values())
    session.rollback()


@SETTINGS
@given(
    customers=st.lists(profiles, min_size=1, max_size=12),
    intent=intents,
    policy_set=st.sampled_from(POLICY_SETS),
    batch_size=st.sampled_from([2, 5000]),
)
def test_setwise_audience_equals_decide_one_by_one(
    session, customers, intent, policy_set, batch_size
):
    _assert_setwise_equals_decide(session, customers, intent, policy_set, batch_size)


#: Customers who pass every prefilter rule of offers and birthday messages, by e-mail and text
#: (but for a field they chose not to share, now and then), and differ only in what the
#: remaining rules read: place, own limits and recent sends (several at the same hour, so that
#: counts land on every weekly limit).
survivors = st.builds(
    Profile,
    jurisdiction=st.sampled_from(["IT", "DE", "US", "XX"]),
    timezone=st.sampled_from(["Europe/Rome", "America/New_York", "Bad/Zone"]),
    existing=st.just(True),
    consents=st.just(
        {(p, c): ("granted", True, 10, None) for p in ("offers", "birthday") for c in CHANNELS[:2]}
    ),
    shares=st.just({"offers": FIELDS, "birthday": FIELDS}),
    # Now and then a choice not to share: stored as such, it must deny like a missing one.
    unshared=st.one_of(
        *[st.just({})] * 3, st.just({"offers": ["first_name"]}), st.just({"birthday": ["language"]})
    ),
    windows=st.one_of(st.none(), st.lists(window, max_size=2)),
    weekly_cap=st.one_of(st.none(), st.integers(-1, 6)),
    paused_days=st.one_of(st.none(), st.sampled_from([-1.0, 0.5, 3.0])),
    sends=st.lists(
        st.tuples(
            st.sampled_from(CHANNELS[:2]),
            st.sampled_from([1, 2, 30, 100, 100, 160, 167, 170]),
            st.integers(0, 5).map(lambda n: n == 0),
        ),
        max_size=8,
    ).map(tuple),
)
survivor_intents = st.fixed_dictionaries(
    {
        "purpose": st.sampled_from(["offers", "birthday"]),
        "channel": st.sampled_from(CHANNELS[:2]),
        "at": st.integers(0, 7 * 24 * 4).map(lambda q: AT + timedelta(minutes=15 * q)),
        "template_fields": st.frozensets(st.sampled_from(FIELDS[:3]), max_size=1),
        "transactional": st.integers(0, 5).map(lambda n: n == 0),
    }
)


@SETTINGS
@given(
    customers=st.lists(survivors, min_size=1, max_size=12),
    intent=survivor_intents,
    policy_set=st.sampled_from(POLICY_SETS),
    batch_size=st.sampled_from([3, 5000]),
)
def test_survivors_by_class_equal_decide_one_by_one(
    session, customers, intent, policy_set, batch_size
):
    """Survivors decided per class (own limits, sends below the weekly limit dropped, only the
    most recent ones kept at or over it) get exactly the decision of their own facts."""
    _assert_setwise_equals_decide(session, customers, intent, policy_set, batch_size)
