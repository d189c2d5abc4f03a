"""Campaign services: create, edit with version, schedule validation, lifecycle, audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.campaigns import service
from app.campaigns.models import CampaignAudit
from app.campaigns.states import CampaignInvalid, InvalidTransition, StaleCampaign
from app.errors import InvalidInput, NotFound
from app.models_base import utcnow


@pytest.fixture
def session(app):
    """The real Session: ``app.transaction`` needs ``in_transaction`` (not on scoped_session)."""
    from app.extensions import db

    return db.session()


GOOD = {"subject": "Hi {{ first_name }}", "body_text": "Hello {{ first_name }} {{ offer }}"}


def make(session, **kw):
    values = {
        "actor": "marketer@example.com",
        "name": "Spring sale",
        "purpose": "offers",
        "channel": "email",
        "templates": [GOOD],
    }
    values.update(kw)
    return service.create_campaign(session, **values)


def audit_actions(session, campaign):
    rows = session.scalars(
        select(CampaignAudit)
        .where(CampaignAudit.campaign_id == campaign.id)
        .order_by(CampaignAudit.id)
    )
    return [(row.actor, row.action) for row in rows]


def test_lifecycle_is_audited_with_actor(session):
    campaign = make(session)
    assert campaign.status == "draft"
    service.schedule_campaign(session, campaign.id, actor="m2")
    service.pause_campaign(session, campaign.id, actor="m3")
    service.resume_campaign(session, campaign.id, actor="m3")
    service.cancel_campaign(session, campaign.id, actor="m4")
    assert campaign.status == "cancelled"
    assert audit_actions(session, campaign) == [
        ("marketer@example.com", "create"),
        ("m2", "schedule"),
        ("m3", "pause"),
        ("m3", "resume"),
        ("m4", "cancel"),
    ]


def test_invalid_transition_is_refused(session):
    campaign = make(session)
    with pytest.raises(InvalidTransition, match="Cannot resume a campaign that is draft"):
        service.resume_campaign(session, campaign.id, actor="m")
    service.cancel_campaign(session, campaign.id, actor="m")
    with pytest.raises(InvalidTransition):
        service.schedule_campaign(session, campaign.id, actor="m")


def test_edit_checks_the_version(session):
    campaign = make(session)
    edited = service.edit_campaign(session, campaign.id, actor="m", version=1, name="Summer sale")
    assert edited.version == 2
    with pytest.raises(StaleCampaign, match="changed by someone else"):
        service.edit_campaign(session, campaign.id, actor="m", version=1, name="Other")
    detail = json.loads(session.scalars(select(CampaignAudit.detail)).all()[-1])
    assert detail["fields"] == ["name"]


def test_only_drafts_can_be_edited(session):
    campaign = make(session)
    service.schedule_campaign(session, campaign.id, actor="m")
    with pytest.raises(InvalidTransition, match="Cannot edit"):
        service.edit_campaign(session, campaign.id, actor="m", version=campaign.version, name="x")


def test_scheduling_names_fields_the_purpose_does_not_allow(session):
    bad = {"subject": "Hi {{ first_name }}", "body_text": "{{ birthday }} {{ phone }}"}
    campaign = make(session, templates=[bad])
    with pytest.raises(CampaignInvalid) as info:
        service.schedule_campaign(session, campaign.id, actor="m")
    message = str(info.value)
    assert "'birthday' is not allowed for purpose 'offers'" in message
    assert "'phone' is not allowed" in message
    assert service.get_campaign(session, campaign.id).status == "draft"


def test_scheduling_checks_schedule_variants_and_segment(session):
    campaign = make(
        session,
        schedule_kind="at",
        scheduled_at=utcnow() - timedelta(days=1),
        templates=[
            {**GOOD, "variant": "A", "weight": 0},
            {**GOOD, "variant": "B", "language": "it", "weight": 0},
        ],
    )
    with pytest.raises(CampaignInvalid) as info:
        service.schedule_campaign(session, campaign.id, actor="m")
    problems = info.value.problems
    assert "The scheduled time is in the past." in problems
    assert "At least one variant needs a weight above 0." in problems
    assert "Variant B needs a template in 'en'." in problems


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"purpose": "astrology"}, "Unknown purpose"),
        ({"channel": "pigeon"}, "Unknown channel"),
        ({"holdout_percent": 90}, "Holdout"),
        ({"schedule_kind": "cron", "cron": "every day"}, "cron"),
        ({"segment": {"shoe_size": [1]}}, "Unknown segment condition"),
        ({"templates": [{"body_text": "x", "variant": "a"}]}, "variant"),
        ({"templates": [{"body_text": "x", "colour": "red"}]}, "Unknown template key"),
        ({"flavour": "vanilla"}, "Unknown campaign setting"),
        ({"actor": ""}, "actor"),
    ],
)
def test_bad_input_is_a_clear_error(session, settings, message):
    with pytest.raises(InvalidInput, match=message):
        make(session, **settings)


def test_missing_campaign_is_not_found(session):
    with pytest.raises(NotFound):
        service.schedule_campaign(session, 999, actor="m")
