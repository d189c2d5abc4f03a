"""A template that cannot render is refused when it is saved, a stored one when the campaign is
scheduled, and the worker does not send a message it cannot render; nothing is written when it
is refused, and no refusal quotes a customer's value."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.campaigns import service
from app.campaigns.models import Campaign, CampaignTemplate
from app.campaigns.states import CampaignInvalid
from app.delivery.compose import CannotCompose, Links, compose_email, compose_sms
from app.delivery.recipients import Recipient
from app.delivery.template_book import TemplateBook, TemplateView
from app.errors import InvalidInput
from app.transaction import transaction

BROKEN = [
    ("{{ 1/0 }}", "divides by zero"),
    ("{{ first_name|nosuchfilter }}", "No filter named 'nosuchfilter'"),
    ("{{ 'x' * 100000000 }}", "more than 100,000 characters"),
    ("{% include 'x' %}", "cannot include"),
]


@pytest.fixture
def session(app):
    """The real Session: ``app.transaction`` needs ``in_transaction``."""
    from app.extensions import db

    return db.session()


def draft(session, text="Hello {{ first_name }}", channel="email"):
    return service.create_campaign(
        session,
        actor="m@example.com",
        name="Sale",
        purpose="offers",
        channel=channel,
        templates=[{"subject": "Hi", "body_text": text}],
    )


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("text", "reason"), BROKEN)
def test_creating_or_editing_with_a_broken_template_is_refused(session, text, reason):
    with pytest.raises(InvalidInput, match=reason):
        draft(session, text)
    assert count(session, Campaign) == 0
    campaign = draft(session)
    with pytest.raises(InvalidInput, match=reason):
        service.edit_campaign(
            session,
            campaign.id,
            actor="m",
            version=campaign.version,
            templates=[{"subject": "Hi", "body_text": text}],
        )
    kept = session.scalars(select(CampaignTemplate.body_text)).all()
    assert kept == ["Hello {{ first_name }}"]


def test_a_broken_template_stored_earlier_cannot_be_scheduled(session):
    campaign = draft(session)
    with transaction(session):  # as a row written before templates were checked on saving
        session.execute(CampaignTemplate.__table__.update().values(body_text="{{ 1/0 }}"))
    with pytest.raises(CampaignInvalid) as info:
        service.schedule_campaign(session, campaign.id, actor="m")
    assert any("divides by zero" in problem for problem in info.value.problems)


def test_an_sms_too_long_for_its_channel_is_refused_on_scheduling(session):
    campaign = draft(session, text="{{ 'x' * 2000 }}", channel="sms")
    with pytest.raises(CampaignInvalid) as info:
        service.schedule_campaign(session, campaign.id, actor="m")
    assert any("longer than 1,600 characters" in problem for problem in info.value.problems)


def _compose(channel: str, text: str):
    book = TemplateBook(names={1: "Sale"})
    book.templates[(1, "A", "en")] = TemplateView(1, "A", "en", "Hi", text, None)
    entry = SimpleNamespace(
        campaign_id=1, variant="A", channel=channel, purpose="offers", payload_json=None
    )
    address = "+393331234567" if channel == "sms" else "ann@example.org"
    recipient = Recipient("ref-1", "en", "IT", address, {"first_name": "Secretname"}, None)
    compose = compose_sms if channel == "sms" else compose_email
    return compose(entry, recipient, book, Links("https://shop.example", "shop.example"), "<m@x>")


@pytest.mark.parametrize(
    ("channel", "text", "reason"),
    [
        ("sms", "{{ first_name * 200 }}", "longer than 1,600 characters"),
        ("email", "{{ first_name|int / 0 }}", "divides by zero"),
        ("email", "{{ (first_name ~ ' ') * 100000 }}", "more than 100,000"),
    ],
)
def test_the_worker_does_not_send_what_cannot_be_rendered(app, channel, text, reason):
    with pytest.raises(CannotCompose, match=reason) as info:
        _compose(channel, text)
    assert "Secretname" not in str(info.value)
    assert _compose(channel, "Hi {{ first_name }}") is not None
