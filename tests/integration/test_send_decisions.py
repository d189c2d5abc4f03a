"""The send-time decision of every message is kept with its rule-by-rule trace, as decided.

"Why was this person contacted?" shows that stored trace; today's re-evaluation is only a
labelled comparison, with the rules that changed pointed out.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from app.campaigns.models import CampaignTemplate
from app.compliance.trace import message_trace
from app.customers.models import Customer
from app.delivery.send_decisions import send_decision
from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker
from app.ledger import consent
from app.outbox.models import OutboxEntry, SendDecision
from app.policy.trace import RULE_ORDER
from app.transaction import transaction
from app.vault import service as vault
from tests.integration.test_delivery_helpers import (
    Sink,
    audience,
    campaign_outbox,
    relaxed_policies,
)

OFFICER_EMAIL = "officer@staff.example.com"


@pytest.fixture
def sink():
    """A local SMTP relay."""
    with Sink() as relay:
        yield relay


@pytest.fixture
def app(app_factory, tmp_path, sink):
    """The application sending through ``sink`` under the relaxed test policy."""
    application = app_factory(
        POLICY_DIR=relaxed_policies(tmp_path / "policies"),
        SMTP_PORT=sink.port,
        MAIL_FROM="Shop <news@shop.example>",
        PUBLIC_BASE_URL="https://shop.example",
    )
    with application.app_context():
        yield application


def _withdraw(session, customer) -> None:
    consent.withdraw(session, customer, purpose="offers", channel="email", source="portal",
                     method="web_form", actor="customer")  # fmt: skip


def _deliver(app) -> None:
    worker = DeliveryWorker(app, worker_settings(app))
    worker.run(threading.Event(), once=True)


def test_the_worker_stores_each_decision_with_its_full_trace(app, session):
    kept, gone = (c.id for c in audience(session, 2))
    campaign_outbox(session, [kept, gone])
    _withdraw(session, session.get(Customer, gone))  # before the claim: denied at send time
    _deliver(app)
    entries = {e.customer_id: e for e in session.scalars(select(OutboxEntry))}
    assert entries[kept].status == "sent" and entries[gone].status == "denied"
    assert len(session.scalars(select(SendDecision)).all()) == 2
    _at, allowed = send_decision(session, entries[kept].id)
    assert allowed.outcome == "allow" and allowed.policy_hash == entries[kept].policy_hash
    assert [r.rule_id for r in allowed.trace] == list(RULE_ORDER)
    assert all(r.status != "failed" for r in allowed.trace)
    _at, denied = send_decision(session, entries[gone].id)
    assert denied.outcome == "deny" and denied.rule_id == entries[gone].decision_rule
    failed = [r for r in denied.trace if r.status == "failed"]
    assert failed and failed[0].rule_id == denied.rule_id
    stored = session.get(SendDecision, entries[kept].id)
    assert len(stored.trace) < 1024  # compact: the whole trace in well under a kilobyte


def test_the_page_shows_the_send_time_trace_and_today_only_as_comparison(
    app, session, client, create_staff, login
):
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    customer_id = audience(session, 1)[0].id
    campaign_outbox(session, [customer_id])
    _deliver(app)
    entry = session.scalar(select(OutboxEntry))
    _withdraw(session, session.get(Customer, customer_id))  # after the message: today differs
    page = client.get(f"/compliance/messages/{entry.id}").get_data(as_text=True)
    as_decided = page.split('id="as-decided"')[1].split('id="today"')[0]
    today = page.split('id="today"')[1]
    assert "Rule by rule, as decided at send time" in as_decided
    assert "Outcome at send time:</strong> allow (allowed)" in as_decided
    assert "withdrew" not in as_decided
    assert "Today's re-evaluation (comparison only)" in today
    assert "Not the reason the message was sent" in today
    assert "Rules judged differently today than at send time" in today
    assert "<td>lawful_basis</td><td>passed</td><td>failed</td>" in today
    assert "Outcome today:</strong> deny (lawful_basis)" in today


def test_a_message_not_yet_claimed_has_no_stored_trace(app, session, client, create_staff, login):
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    (customer,) = audience(session, 1)
    campaign_outbox(session, [customer.id])
    entry = session.scalar(select(OutboxEntry))
    page = client.get(f"/compliance/messages/{entry.id}").get_data(as_text=True)
    assert "it has not been claimed for sending yet" in page
    assert "Today's re-evaluation (comparison only)" in page


def test_the_traces_tables_export_as_csv_and_json(app, session, client, create_staff, login):
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    customer_id = audience(session, 1)[0].id
    campaign_outbox(session, [customer_id])
    _deliver(app)
    entry = session.scalar(select(OutboxEntry))
    path = f"/compliance/messages/{entry.id}"
    rows = client.get(f"{path}?table=as-decided&format=json").get_json()["rows"]
    assert [r["rule_id"] for r in rows] == list(RULE_ORDER)
    assert client.get(f"{path}?table=today&format=csv").mimetype == "text/csv"
    consent_rows = client.get(f"{path}?table=consent&format=json").get_json()["rows"]
    assert [r["action"] for r in consent_rows] == ["granted"]
    assert client.get(f"{path}?table=nothing&format=csv").status_code == 400


def _unshare_first_name(session, customer_id: int) -> None:
    vault.set_sharing(
        session, session.get(Customer, customer_id), {("first_name", "offers"): False}
    )


def test_today_decides_on_the_fields_the_template_requires(app, session):
    customer_id = audience(session, 1)[0].id
    campaign_outbox(session, [customer_id])  # "Dear {{ first_name }}": required
    _deliver(app)
    entry = session.scalar(select(OutboxEntry))
    assert message_trace(session, entry.id).differences == []  # nothing changed, nothing differs
    _unshare_first_name(session, customer_id)
    found = message_trace(session, entry.id)
    assert found.sent_decision.allowed
    assert found.recomputed.outcome == "deny"
    assert found.recomputed.rule_id == "data_minimisation"
    assert found.differences == [("data_minimisation", "passed", "failed")]


def test_today_shows_the_fallback_where_the_template_has_one(app, session):
    customer_id = audience(session, 1)[0].id
    campaign_id = campaign_outbox(session, [customer_id])
    with transaction(session):
        template = session.scalar(
            select(CampaignTemplate).where(CampaignTemplate.campaign_id == campaign_id)
        )
        template.subject = "Hello {{ first_name|default('there') }}"
        template.body_text = "Dear {{ first_name|default('customer') }},\n{{ offer }}\n"
    _deliver(app)
    entry = session.scalar(select(OutboxEntry))
    _unshare_first_name(session, customer_id)
    found = message_trace(session, entry.id)
    assert found.sent_decision.allowed and found.recomputed.allowed
    assert found.differences == []


def test_today_decides_on_no_field_a_template_no_longer_parses(app, session):
    customer_id = audience(session, 1)[0].id
    campaign_id = campaign_outbox(session, [customer_id])
    _deliver(app)
    with transaction(session):
        session.execute(
            update(CampaignTemplate)
            .where(CampaignTemplate.campaign_id == campaign_id)
            .values(body_text="Dear {{ first_name")
        )
    found = message_trace(session, session.scalar(select(OutboxEntry.id)))
    assert found.recomputed is None
    assert found.recompute_problem.startswith("The campaign's templates cannot be read:")
