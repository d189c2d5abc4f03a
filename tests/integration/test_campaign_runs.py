"""Campaign runs: a decision per candidate, outbox entries, deferrals, idempotency, splits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.campaigns import service
from app.campaigns.assign import Assigner
from app.campaigns.models import CampaignDecision, CampaignRun
from app.campaigns.reports import campaign_report, run_progress
from app.campaigns.run import execute_run, refresh_run_status, run_if_due, start_run
from app.ledger import consent
from app.ledger.notices import publish_notice
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from app.transaction import transaction
from app.vault import service as vault
from app.vault.models import VaultAccess

NOON = (utcnow() + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
TEMPLATE = {"subject": "Hi {{ first_name }}", "body_text": "Dear {{ first_name }}, {{ offer }}"}


@pytest.fixture
def people(session):
    """Builder: ``people(n, share=..., consent=True, timezone="UTC")`` -> customer ids."""
    notice = publish_notice(
        session, purpose="offers", language="en", title="Offers", text="We send offers.",
        effective_at=utcnow() - timedelta(days=1),
    )  # fmt: skip
    counter = iter(range(100_000))

    def build(n=1, share=("first_name",), consent_given=True, timezone="UTC", values=None):
        ids = []
        for _ in range(n):
            index = next(counter)
            profile = {"first_name": f"Ann{index}", **(values or {})}
            customer = vault.register_customer(
                session, email=f"p{index}@example.org", profile=profile, timezone=timezone,
                age_attested=30,
            )  # fmt: skip
            vault.set_sharing(session, customer, {(f, "offers"): True for f in share})
            if consent_given:
                consent.grant(
                    session, customer, purpose="offers", channel="email", notice=notice,
                    source="import", method="import", actor="test", skip_double_opt_in=True,
                )  # fmt: skip
            with transaction(session):
                customer.email_verified = True
            ids.append(customer.id)
        return ids

    return build


def scheduled(session, **settings):
    """A scheduled campaign for offers by e-mail."""
    values = {"name": "Sale", "purpose": "offers", "channel": "email", "templates": [TEMPLATE]}
    values.update(settings)
    campaign = service.create_campaign(session, actor="marketer", **values)
    return service.schedule_campaign(session, campaign.id, actor="marketer")


def decisions(session, run_id):
    query = select(CampaignDecision).where(CampaignDecision.run_id == run_id)
    return {d.customer_id: d for d in session.scalars(query)}


def outbox(session, run_id):
    query = select(OutboxEntry).where(OutboxEntry.run_id == run_id)
    return {e.customer_id: e for e in session.scalars(query)}


def test_a_run_records_a_decision_for_every_candidate(session, people):
    allowed = people(4)
    no_consent = people(1, consent_given=False)
    unshared = people(1, share=())
    campaign = scheduled(session)
    run = start_run(session, campaign, NOON)
    recorded = decisions(session, run.id)
    assert set(recorded) == set(allowed + no_consent + unshared)
    assert {recorded[c].outcome for c in allowed} == {"allow"}
    assert recorded[no_consent[0]].outcome == recorded[unshared[0]].outcome == "deny"
    assert recorded[unshared[0]].rule_id == "data_minimisation"
    assert (run.candidates, run.allowed, run.denied, run.deferred) == (6, 4, 2, 0)
    counts = json.loads(run.counts_json)
    assert counts["rules"]["deny"]["data_minimisation"] == 1
    assert sum(counts["rules"]["deny"].values()) == 2
    entries = outbox(session, run.id)
    assert set(entries) == set(allowed)
    entry = entries[allowed[0]]
    assert entry.idempotency_key == f"run:{run.id}:customer:{allowed[0]}:email"
    assert entry.not_before == NOON and entry.status == "pending" and entry.payload_json is None
    assert campaign.status == "running" and run.status == "sending"


def test_deferred_candidates_wait_in_the_outbox_until_their_time(session, people):
    ids = people(3)
    campaign = scheduled(session)
    late = NOON.replace(hour=22, minute=30)
    run = start_run(session, campaign, late)
    assert run.deferred == 3 and run.allowed == 0
    morning = (late + timedelta(days=1)).replace(hour=8, minute=0)
    for customer_id, decision in decisions(session, run.id).items():
        assert decision.outcome == "defer" and decision.rule_id == "quiet_hours"
        assert decision.defer_until == morning
        assert outbox(session, run.id)[customer_id].not_before == morning
    assert set(outbox(session, run.id)) == set(ids)


def test_executing_a_run_again_duplicates_nothing(session, people):
    people(5)
    people(1, consent_given=False)
    campaign = scheduled(session)
    run = start_run(session, campaign, NOON)
    first = (run.candidates, run.allowed, run.denied)
    with transaction(session):
        session.execute(
            update(CampaignRun).where(CampaignRun.id == run.id).values(status="resolving")
        )
    again = execute_run(session, run.id, batch_size=2)
    assert (again.candidates, again.allowed, again.denied) == first
    count = session.scalar(select(func.count()).select_from(OutboxEntry))
    assert count == 5
    assert session.scalar(select(func.count()).select_from(CampaignDecision)) == 6


def test_holdout_and_variants_are_deterministic_and_not_sent(session, people):
    people(40)
    b = {**TEMPLATE, "variant": "B", "weight": 50}
    campaign = scheduled(session, holdout_percent=25, templates=[{**TEMPLATE, "weight": 50}, b])
    run = start_run(
        session,
        campaign,
        NOON,
    )
    assigner = Assigner.for_campaign(campaign.id, 25, {"A": 50, "B": 50})
    recorded = decisions(session, run.id)
    entries = outbox(session, run.id)
    for customer_id, decision in recorded.items():
        assert decision.holdout == assigner.in_holdout(customer_id)
        if decision.holdout:
            assert decision.variant is None and customer_id not in entries
        else:
            assert decision.variant == assigner.variant(customer_id)
            assert entries[customer_id].variant == decision.variant
    assert 0 < run.holdout < 40 and run.allowed == 40 - run.holdout
    assert {d.variant for d in recorded.values() if not d.holdout} == {"A", "B"}


def test_local_time_sends_wait_for_each_recipients_morning(session, people):
    rome = people(1, timezone="Europe/Rome")[0]
    new_york = people(1, timezone="America/New_York")[0]
    campaign = scheduled(session, schedule_kind="local_time", local_time="10:00")
    start = NOON.replace(hour=3)
    run = start_run(session, campaign, start)
    entries = outbox(session, run.id)
    assert entries[rome].not_before.astimezone(_zone("Europe/Rome")).hour == 10
    assert entries[new_york].not_before.astimezone(_zone("America/New_York")).hour == 10
    assert all(e.not_before >= start for e in entries.values())


def _zone(name):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_segments_on_shared_attributes_decrypt_only_what_was_shared(session, people):
    milan = people(2, share=("first_name", "city"), values={"city": "Milano"})
    people(1, share=("first_name", "city"), values={"city": "Roma"})
    people(1, values={"city": "Milano"})  # has a city but did not share it for offers
    campaign = scheduled(session, segment={"cities": ["milano"]})
    run = start_run(session, campaign, NOON)
    assert set(decisions(session, run.id)) == set(milan)
    log = session.scalars(select(VaultAccess).where(VaultAccess.actor == f"campaign-run:{run.id}"))
    entries = log.all()
    assert len(entries) == 1
    assert entries[0].fields == "city" and entries[0].customer_count == 3


def test_consent_segments_filter_in_sql(session, people):
    people(2)
    soon = scheduled(session, segment={"consent_expiring_within_days": 30})
    assert start_run(session, soon, NOON).candidates == 0
    later = scheduled(session, segment={"consent_expiring_within_days": 800})
    assert start_run(session, later, NOON).candidates == 2
    old = scheduled(session, segment={"consent_age_days": {"at_least": 10}})
    assert start_run(session, old, NOON).candidates == 0


def test_a_run_completes_when_its_messages_are_settled(session, people):
    people(2)
    campaign = scheduled(session)
    run = start_run(session, campaign, NOON)
    service.pause_campaign(session, campaign.id, actor="m")
    assert refresh_run_status(session, run.id) == "sending"  # held messages are not settled
    service.resume_campaign(session, campaign.id, actor="m")
    assert campaign.status == "running"
    assert {e.status for e in outbox(session, run.id).values()} == {"pending"}
    with transaction(session):
        session.execute(update(OutboxEntry).values(status="sent", sent_at=utcnow()))
    assert refresh_run_status(session, run.id) == "completed"
    assert service.get_campaign(session, campaign.id).status == "completed"


def test_reports_are_aggregates(session, people):
    people(3)
    people(1, consent_given=False)
    campaign = scheduled(session)
    run = start_run(session, campaign, NOON)
    report = campaign_report(session, campaign)
    assert report["candidates"] == 4 and report["eligible"] == 3 and report["denied"] == 1
    assert report["waiting"] == 3 and report["sent"] == 0
    assert report["variants"]["A"]["assigned"] == 3
    progress = run_progress(session, run.id)
    assert progress["messages"] == 3 and progress["percent_settled"] == 0.0
    assert "customer" not in json.dumps(report) and "customer" not in json.dumps(progress)


def test_recurring_campaigns_run_once_per_fire_time(session, people):
    people(1)
    campaign = scheduled(session, schedule_kind="cron", cron="0 12 * * *", cron_timezone="UTC")
    first = run_if_due(session, campaign.id, NOON)
    assert (
        first is not None and run_if_due(session, campaign.id, NOON + timedelta(seconds=20)) is None
    )
    second = run_if_due(session, campaign.id, NOON + timedelta(days=1))
    assert second is not None and second.id != first.id


def test_one_off_campaigns_run_once(session, people):
    people(1)
    campaign = scheduled(session)
    assert run_if_due(session, campaign.id, NOON) is not None
    assert run_if_due(session, campaign.id, NOON) is None
