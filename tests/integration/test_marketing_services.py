"""Marketing services on the database: offers with history, value_tier segments, withdrawal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.campaigns import service
from app.campaigns.run import start_run
from app.customers.models import Customer
from app.ledger import consent
from app.marketing.models import OfferHistory
from app.marketing.offer_service import choose_offers, offer_payloads
from app.marketing.value_reports import tier_summary
from app.marketing.value_service import refit_values
from app.vault.models import VaultAccess
from tests.web.test_marketing_console import seed_people

TEMPLATE = {"subject": "Hi {{ first_name }}", "body_text": "Dear {{ first_name }}"}


def test_offers_follow_history_and_the_variety_rule(session):
    ids = seed_people(session, count=4)
    now = datetime.now(UTC)
    first = choose_offers(session, ids, now)
    assert {o.category for o in first.values()} <= {"wine", "books"} and len(first) == 4
    again = choose_offers(session, ids, now + timedelta(days=1))
    assert all(again[c] != first[c] for c in again)  # never the same offer within 30 days
    assert len(session.scalars(select(OfferHistory)).all()) == len(first) + len(again)
    actors = session.scalars(
        select(VaultAccess.actor).where(VaultAccess.actor == "marketing:offers")
    )
    assert len(actors.all()) == 2  # one access-log entry per computation
    payloads = offer_payloads(session, ids[:1], now + timedelta(days=60))
    assert json.loads(payloads[ids[0]])["offer"].startswith("New in ")


def test_withdrawn_customers_get_no_offer_and_leave_value_segments(session):
    ids = seed_people(session, count=5)
    assert refit_values(session).scored == 5
    assert sum(row.customers for row in tier_summary(session)) == 5
    withdrawn = session.get(Customer, ids[0])
    consent.withdraw(session, withdrawn, purpose="recommendations", channel="email",
                     source="portal", method="web_form", actor="customer")  # fmt: skip
    assert ids[0] not in choose_offers(session, ids, record=False)
    everyone = ["champions", "loyal", "promising", "at_risk", "dormant"]
    campaign = service.create_campaign(
        session, actor="test", name="Tiers", purpose="offers", channel="email",
        templates=[TEMPLATE], segment={"value_tier": everyone},
    )  # fmt: skip
    service.schedule_campaign(session, campaign.id, actor="test")
    run = start_run(session, campaign.id, datetime.now(UTC))
    assert run.candidates == 4  # the withdrawn customer is no longer in any tier segment


def test_campaign_runs_carry_each_customers_offer_only_when_a_template_shows_it(
    session, monkeypatch
):
    from app.campaigns import run as run_module
    from app.outbox.models import OutboxEntry

    # One customer per batch: the purchase histories must still be read once per run.
    monkeypatch.setattr(run_module.execute_run, "__kwdefaults__", {"batch_size": 1})

    ids = seed_people(session, count=4)
    withdrawn = session.get(Customer, ids[0])
    consent.withdraw(session, withdrawn, purpose="recommendations", channel="email",
                     source="portal", method="web_form", actor="customer")  # fmt: skip
    with_offer = {"subject": "Hi {{ first_name }}", "body_text": "{{ first_name }}: {{ offer }}"}
    campaign = service.create_campaign(
        session, actor="test", name="Picks", purpose="offers", channel="email",
        templates=[with_offer],
    )  # fmt: skip
    service.schedule_campaign(session, campaign.id, actor="test")
    reads_before = _offer_reads(session)
    start_run(session, campaign.id, datetime.now(UTC))
    assert _offer_reads(session) == reads_before + 1
    entries = session.scalars(select(OutboxEntry).where(OutboxEntry.campaign_id == campaign.id))
    payloads = {e.customer_id: e.payload_json for e in entries}
    assert set(payloads) == set(ids)  # the withdrawn customer still gets the offers campaign
    assert payloads[ids[0]] is None  # ...but no personalised offer: no profiling consent
    for cid in ids[1:]:
        assert json.loads(payloads[cid])["offer"].startswith("New in ")
    offered = session.scalars(
        select(OfferHistory.customer_id).where(OfferHistory.campaign_id == campaign.id)
    ).all()
    assert sorted(offered) == sorted(ids[1:])

    plain = service.create_campaign(
        session, actor="test", name="Plain", purpose="offers", channel="email",
        templates=[TEMPLATE],
    )  # fmt: skip
    service.schedule_campaign(session, plain.id, actor="test")
    before = session.scalar(select(func.count()).select_from(VaultAccess))
    start_run(session, plain.id, datetime.now(UTC))
    entries = session.scalars(select(OutboxEntry).where(OutboxEntry.campaign_id == plain.id))
    assert all(e.payload_json is None for e in entries)
    actors = session.scalars(select(VaultAccess.actor).offset(before)).all()
    assert "marketing:offers" not in actors  # no purchase history read for a plain campaign


def _offer_reads(session) -> int:
    query = (
        select(func.count()).select_from(VaultAccess).where(VaultAccess.actor == "marketing:offers")
    )
    return session.scalar(query)
