"""``POST /decisions``: the send-time decision, for one customer or a batch."""

from __future__ import annotations

from sqlalchemy import select

from app.decisions.send_check import decide_at_send
from app.models_base import utcnow
from app.policy.facts import Intent
from app.vault.models import VaultAccess
from tests.integration.builders import grant, make_customer


def _willing(session, email):
    """A customer with a verified address who consented to offers by e-mail."""
    customer = make_customer(session, email=email)
    customer.email_verified = True
    session.commit()
    grant(session, customer)
    return customer


def _decide(api, customer, **extra):
    body = {"customer": customer, "purpose": "offers", "channel": "email", **extra}
    return api.post("/decisions", json=body)


def test_a_customer_who_consented_may_be_contacted_and_one_who_did_not_may_not(api, session):
    _willing(session, "willing@example.org")
    make_customer(session, email="silent@example.org")
    yes = _decide(api, {"email": "willing@example.org"})
    no = _decide(api, {"email": "silent@example.org"})
    assert yes.status_code == 200, yes.get_json()
    assert yes.get_json()["outcome"] in ("allow", "defer"), yes.get_json()
    assert no.get_json()["outcome"] == "deny"
    assert len(yes.get_json()["policy_hash"]) == 64


def test_the_answer_is_the_send_time_decision(api, session):
    customer = _willing(session, "same@example.org")
    at = utcnow()
    answer = _decide(api, {"email": "same@example.org"}, at=at.isoformat()).get_json()
    expected = decide_at_send(session, customer.id, Intent("offers", "email", at))
    assert (answer["outcome"], answer["rule_id"]) == (expected.outcome, expected.rule_id)
    assert answer["explanation"] == expected.explanation


def test_unknown_customers_are_denied_not_an_error(api):
    answer = _decide(api, {"reference": "nobody"})
    assert answer.status_code == 200
    assert (answer.get_json()["outcome"], answer.get_json()["rule_id"]) == (
        "deny",
        "customer_unknown",
    )


def test_a_batch_answers_in_the_order_asked_and_logs_one_access(api, session):
    _willing(session, "b1@example.org")
    make_customer(session, email="b2@example.org")
    asked = [{"email": "b2@example.org"}, {"reference": "ghost"}, {"email": "b1@example.org"}]
    response = api.post(
        "/decisions/batch", json={"purpose": "offers", "channel": "email", "customers": asked}
    )
    assert response.status_code == 200
    decisions = response.get_json()["decisions"]
    assert [d["customer"] for d in decisions] == asked
    assert [d["outcome"] for d in decisions][:2] == ["deny", "deny"]
    assert decisions[2]["outcome"] in ("allow", "defer")
    log = session.scalars(select(VaultAccess).order_by(VaultAccess.id.desc())).first()
    assert log.actor == "api-key:default integration"
    assert log.customer_count == 2


def test_a_batch_holds_at_most_a_thousand_customers(api):
    body = {
        "purpose": "offers",
        "channel": "email",
        "customers": [{"reference": f"r{i}"} for i in range(1001)],
    }
    response = api.post("/decisions/batch", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_a_body_that_is_not_json_is_a_problem(api, client):
    response = client.post(
        "/api/v1/decisions",
        data="not json",
        headers={"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["status"] == 400


def test_a_set_loaded_elsewhere_decides_the_next_call(api, session, tmp_path):
    """The set in force is read from the database on each call (on the call's own connection),
    never remembered across calls: a load recorded by another process decides the next one."""
    from app.policy import load_policies
    from app.policy_sets.revisions import record_policy_load
    from tests.integration.policy_files import policy_copy

    _willing(session, "follows@example.org")
    first = _decide(api, {"email": "follows@example.org"}).get_json()
    edited = policy_copy(
        tmp_path / "policies",
        {"eu-gdpr.yaml": [("max_per_week: {email: 3,", "max_per_week: {email: 2,")]},
    )
    loaded = load_policies(edited)
    record_policy_load(session, loaded, actor="operator:elsewhere")
    second = _decide(api, {"email": "follows@example.org"}).get_json()
    assert first["policy_hash"] != second["policy_hash"] == loaded.by_id["eu-gdpr"].sha256


def test_a_single_decision_makes_one_connection_and_no_extra_round_trips(api, session, app):
    """Key, set in force, customer, facts and the access log: one connection of the pool, and
    each statement once."""
    from sqlalchemy import event

    from app.extensions import db

    _willing(session, "counted@example.org")
    _decide(api, {"email": "counted@example.org"})  # the key's first use is recorded once
    checkouts, statements = [], []
    engine = db.engine
    with app.app_context():
        engine = db.engine

    def on_checkout(*_args):
        checkouts.append(1)

    def on_execute(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        answer = _decide(api, {"email": "counted@example.org"})
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "before_cursor_execute", on_execute)
    assert answer.status_code == 200
    assert len(checkouts) == 1
    # key, set in force, customer, six fact queries, the access log's row
    assert len(statements) == 10, statements
