"""Campaigns are direct marketing: only direct-marketing purposes, at every step.

A campaign "Big SALE {{ first_name }}" under the ``service`` purpose (lawful basis contract, no
consent needed) must be refused when created or edited, when scheduled, when run, and, should
one reach the outbox anyway, denied by the engine at send time.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from app.campaigns import service
from app.campaigns.models import Campaign, CampaignAudit, CampaignDecision, CampaignRun
from app.campaigns.run import execute_run, run_if_due, start_run
from app.campaigns.states import CampaignInvalid, CampaignRefused
from app.delivery.claim import claim_batch
from app.errors import InvalidInput
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from app.policy_sets.in_force import refresh_policies
from app.transaction import transaction
from tests.integration.policy_files import SURVEYS_NOT_MARKETING, policy_copy, put_in_force
from tests.integration.test_delivery_helpers import audience, campaign_outbox

SALE = {"subject": "Big SALE {{ first_name }}", "body_text": "Big SALE {{ first_name }}!"}


@pytest.fixture
def session(app):
    """The real Session: ``app.transaction`` needs ``in_transaction``."""
    from app.extensions import db

    return db.session()


def draft(session, purpose="offers", **settings):
    return service.create_campaign(
        session, actor="marketer", name="Big SALE", purpose=purpose, channel="email",
        templates=[SALE], **settings,
    )  # fmt: skip


def test_a_campaign_cannot_be_created_or_edited_under_a_purpose_that_is_not_marketing(session):
    with pytest.raises(InvalidInput, match="Purpose 'service' is not direct marketing") as found:
        draft(session, purpose="service")
    assert "campaigns may use: offers, birthday, recommendations, surveys, partners" in str(
        found.value
    )
    assert session.scalar(select(Campaign.id)) is None
    campaign = draft(session)
    with pytest.raises(InvalidInput, match="not direct marketing"):
        service.edit_campaign(session, campaign.id, actor="m", version=1, purpose="service")
    assert session.get(Campaign, campaign.id).purpose == "offers"


def test_the_transactional_flag_is_gone_from_campaigns(session):
    with pytest.raises(InvalidInput, match="Unknown campaign setting 'transactional'"):
        draft(session, transactional=True)


def test_scheduling_refuses_a_purpose_the_policies_in_force_no_longer_call_marketing(
    session, tmp_path
):
    campaign = draft(session, purpose="surveys")
    put_in_force(session, policy_copy(tmp_path / "p", SURVEYS_NOT_MARKETING))
    refresh_policies()
    with pytest.raises(CampaignInvalid, match="Purpose 'surveys' is not direct marketing"):
        service.schedule_campaign(session, campaign.id, actor="marketer")
    assert session.get(Campaign, campaign.id).status == "draft"


def test_a_run_is_refused_and_the_campaign_leaves_the_schedule(session, tmp_path, caplog):
    audience(session, 3, purpose="surveys")
    by_operator, by_scheduler = draft(session, purpose="surveys"), draft(session, purpose="surveys")
    for campaign in (by_operator, by_scheduler):
        service.schedule_campaign(session, campaign.id, actor="marketer")
    put_in_force(session, policy_copy(tmp_path / "p", SURVEYS_NOT_MARKETING))
    with pytest.raises(CampaignRefused, match="was not run: Purpose 'surveys' is not direct"):
        start_run(session, by_operator.id, actor="operator")
    assert session.get(Campaign, by_operator.id).status == "draft"
    audit = session.scalars(select(CampaignAudit).where(CampaignAudit.action == "unschedule")).one()
    assert audit.actor == "operator" and "not direct marketing" in audit.detail

    session.commit()
    with caplog.at_level(logging.WARNING, logger="assenso.campaigns"):
        assert run_if_due(session, by_scheduler.id, utcnow()) is None
    assert f"Campaign #{by_scheduler.id} was not run" in caplog.text and "Ann" not in caplog.text
    assert session.get(Campaign, by_scheduler.id).status == "draft"
    assert session.scalar(select(CampaignRun.id)) is None
    assert session.scalar(select(CampaignDecision.id)) is None


def test_the_engine_denies_a_run_and_the_send_of_a_campaign_under_the_service_purpose(session):
    """The last lines of defence, for rows written before these checks existed."""
    people = [p.id for p in audience(session, 3)]
    campaign_id = campaign_outbox(session, people)
    with transaction(session):
        session.get(Campaign, campaign_id).purpose = "service"
        for entry in session.scalars(select(OutboxEntry)):
            entry.purpose, entry.kind = "service", "transactional"
        run = CampaignRun(campaign_id=campaign_id, status="resolving", scheduled_for=utcnow())
        session.add(run)
    execute_run(session, run.id)
    rules = session.scalars(
        select(CampaignDecision.rule_id).where(CampaignDecision.run_id == run.id)
    ).all()
    assert rules == ["purpose_not_direct_marketing"] * 3
    batch = claim_batch(session, "worker-1", 50, 60, utcnow())
    assert batch.ready == [] and batch.denied == 3
    denied = session.scalars(select(OutboxEntry.decision_rule)).all()
    assert denied == ["purpose_not_direct_marketing"] * 3


def test_run_now_from_the_command_line_is_refused_with_the_reason(session, runner, tmp_path):
    campaign = draft(session, purpose="surveys")
    service.schedule_campaign(session, campaign.id, actor="marketer")
    put_in_force(session, policy_copy(tmp_path / "p", SURVEYS_NOT_MARKETING))
    result = runner.invoke(args=["campaigns", "run-now", str(campaign.id)])
    assert result.exit_code == 2
    assert "was not run: Purpose 'surveys' is not direct marketing" in result.output
    assert "Traceback" not in result.output
