"""``POST /decisions/batch`` answers every customer exactly as ``POST /decisions`` does.

The batch is decided set-wise (the campaign audience's engine), the single decision by the
send-time check on each customer's loaded facts; over random customers (consents granted,
pending, withdrawn, expired; objections; suppressions; sharing choices; time zones, contact
windows, pauses and weekly caps; recent sends; jurisdictions; erased customers) and random
intents (purpose, channel, time, template fields), every answer must be identical: outcome,
rule, explanation, defer-until and policy hash, unknown customers and bad addresses included.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from app.customers.models import Customer
from app.runtime import runtime
from app.vault.blind_index import blind_index
from app.vault.models import VaultAccess
from app.vault.references import reference_index
from tests.integration.test_policy_builders import Profile, add_customer, clear_customers
from tests.integration.test_policy_setwise import intents, profiles, survivor_intents, survivors

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Asked in every batch beside the stored customers: nobody has these.
STRANGERS = [{"reference": "nobody"}, {"email": "nobody@example.org"}, {"email": "not-an-address"}]


def _store(session, population) -> list[dict]:
    """Store the customers, each known by a reference or an e-mail address (half each)."""
    clear_customers(session)
    session.execute(delete(VaultAccess))
    asked = []
    for number, profile in enumerate(population):
        customer = session.get(Customer, add_customer(session, profile))
        if number % 2:
            email = f"p{number}@example.org"
            customer.email_index = blind_index(runtime().blind_index_keys, email)
            asked.append({"email": email})
        else:
            customer.reference_index = reference_index(f"r{number}")
            asked.append({"reference": f"r{number}"})
    session.commit()
    return asked


def _body(intent: dict) -> dict:
    return {
        "purpose": intent["purpose"],
        "channel": intent["channel"],
        "at": intent["at"].isoformat(),
        "template_fields": sorted(intent["template_fields"]),
    }


def _assert_batch_equals_singles(api, session, population, intent, order) -> None:
    asked = _store(session, population) + STRANGERS
    asked += asked[:2]  # a customer asked twice gets the same answer twice
    order.shuffle(asked)
    body = _body(intent)

    batch = api.post("/decisions/batch", json={**body, "customers": asked})
    assert batch.status_code == 200, batch.get_json()
    singles = [api.post("/decisions", json={**body, "customer": who}) for who in asked]

    assert all(single.status_code == 200 for single in singles)
    assert batch.get_json()["decisions"] == [single.get_json() for single in singles]


@SETTINGS
@given(
    population=st.lists(profiles, min_size=1, max_size=8),
    intent=intents,
    order=st.randoms(use_true_random=False),
)
def test_each_batch_answer_is_the_single_answer(api, session, population, intent, order):
    _assert_batch_equals_singles(api, session, population, intent, order)


@SETTINGS
@given(
    population=st.lists(survivors, min_size=1, max_size=8),
    intent=survivor_intents,
    order=st.randoms(use_true_random=False),
)
def test_survivors_get_the_single_answer(api, session, population, intent, order):
    """Customers who pass the coarse rules: time zones, contact windows, quiet hours, pauses,
    own weekly caps and recent sends decide between allow and defer (and its time)."""
    _assert_batch_equals_singles(api, session, population, intent, order)


def test_a_batch_logs_one_access_for_the_customers_it_found(api, session):
    """Like a single decision, the batch writes the facts it read to the vault's access log:
    one entry, for the customers found (unknown ones are not counted), under the key's name."""
    willing = Profile(consents={("offers", "email"): ("granted", True, 10, None)}, existing=True)
    asked = _store(session, [willing] * 3) + STRANGERS
    before = session.scalar(select(func.count()).select_from(VaultAccess))
    answer = api.post(
        "/decisions/batch", json={"purpose": "offers", "channel": "email", "customers": asked}
    )
    assert answer.status_code == 200
    entries = session.scalars(select(VaultAccess).order_by(VaultAccess.id)).all()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.actor, entry.purpose, entry.customer_count) == (
        "api-key:default integration",
        "offers",
        3,
    )
    assert "consent_state" in entry.fields


def test_a_batch_with_an_idempotency_key_is_replayed_with_the_same_answer(api, session):
    willing = Profile(consents={("offers", "email"): ("granted", True, 10, None)}, existing=True)
    body = {"purpose": "offers", "channel": "email", "customers": _store(session, [willing] * 2)}
    headers = {"Idempotency-Key": "batch-1"}
    first = api.post("/decisions/batch", json=body, headers=headers)
    again = api.post("/decisions/batch", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()


def test_a_failure_while_deciding_denies_the_known_customers(api, session, monkeypatch):
    """Fail closed, as the send-time check: every customer found is denied with
    ``policy_error``; unknown ones are still answered ``customer_unknown``."""
    from app.web.api.routes import decisions

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(decisions, "decide_customers", broken)
    willing = Profile(consents={("offers", "email"): ("granted", True, 10, None)}, existing=True)
    asked = _store(session, [willing]) + STRANGERS[:1]
    answer = api.post(
        "/decisions/batch", json={"purpose": "offers", "channel": "email", "customers": asked}
    )
    assert answer.status_code == 200
    rules = [(d["outcome"], d["rule_id"]) for d in answer.get_json()["decisions"]]
    assert rules == [("deny", "policy_error"), ("deny", "customer_unknown")]
    assert "RuntimeError" in answer.get_json()["decisions"][0]["explanation"]
