# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""Language and time zone: chosen at sign-up, held once, changed in one place, used everywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.campaigns.models import Campaign, CampaignTemplate
from app.campaigns.segments import SegmentContext
from app.customers.models import Customer
from app.decisions.send_check import decide_at_send
from app.extensions import db
from app.ledger.consent import grant
from app.ledger.models import Notice
from app.ledger.notices import current_notice
from app.marketing.conditions import BirthdayToday
from app.marketing.forecast import forecast_campaign
from app.policy import Intent
from app.vault.models import ContactPreferences
from app.vault.service import read_fields, read_own_profile, set_sharing
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
    portal_client,
    sign_in_customer,
)

ROME, NEW_YORK = "Europe/Rome", "America/New_York"


@pytest.fixture
def tess(create_customer, portal_client) -> Customer:
    """A signed-in customer in Rome, with a confirmed e-mail consent for offers."""
    customer = create_customer("tess@example.com", first_name="Tess")
    customer.email_verified = True
    db.session.commit()
    set_sharing(db.session, customer, {("first_name", "offers"): True})
    grant(
        db.session,
        customer,
        purpose="offers",
        channel="email",
        notice=current_notice(db.session, "offers", "en"),
        source="portal",
        method="web_form",
        actor="customer",
        skip_double_opt_in=True,
    )
    sign_in_customer(portal_client, "tess@example.com")
    return customer


def _settings_version(client) -> str:
    html = client.get("/me/data").get_data(as_text=True)
    form = html.split('action="/me/data/settings"')[1]
    return form.split('name="version" type="hidden" value="')[1].split('"')[0]


def _save(client, customer: Customer, version: str | None = None, **changes):
    """Submit the settings form as ``customer`` sees it, with ``changes`` applied."""
    db.session.refresh(customer)
    data = {
        "csrf_token": csrf_token(client, "/me/data"),
        "version": version if version is not None else _settings_version(client),
        "language": customer.language,
        "timezone": customer.timezone,
        **changes,
    }
    return client.post("/me/data/settings", data=data)


def _tomorrow_at(clock: time, zone: str) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=1)
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_my_data_shows_the_settings_chosen_at_sign_up_in_one_place(portal_client):
    notice = db.session.scalar(select(Notice.id).where(Notice.purpose == "offers"))
    signup = {
        "csrf_token": csrf_token(portal_client, "/signup"),
        "email": "kai@example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "language": "it",
        "timezone": "Asia/Tokyo",
        "age_confirmed": "y",
        "notice-offers": str(notice),
    }
    assert portal_client.post("/signup", data=signup).status_code == 302
    sign_in_customer(portal_client, "kai@example.com")  # sign-up asks to sign in afterwards
    page = portal_client.get("/me/data").get_data(as_text=True)
    assert '<option selected value="Asia/Tokyo">Asia/Tokyo</option>' in page
    assert '<option lang="it" selected value="it">Italiano</option>' in page
    # One field each: no second, empty "Time zone" and no second "Language" in the profile.
    assert page.count('name="timezone"') == page.count('name="language"') == 1
    kai = db.session.scalar(select(Customer).where(Customer.language == "it"))
    assert "language" not in read_own_profile(db.session, kai)


def test_a_changed_time_zone_is_the_one_every_decision_uses(portal_client, tess):
    noon_in_rome = _tomorrow_at(time(12, 30), ROME)  # 06:30 in New York: quiet hours there
    intent = Intent("offers", "email", noon_in_rome)
    assert decide_at_send(db.session, tess.id, intent).allowed

    response = _save(portal_client, tess, timezone=NEW_YORK)
    assert response.status_code == 302 and response.headers["Location"].endswith("#settings")
    db.session.expire_all()
    assert db.session.get(Customer, tess.id).timezone == NEW_YORK

    decision = decide_at_send(db.session, tess.id, intent)
    assert decision.deferred and decision.rule_id == "quiet_hours"
    assert decision.defer_until == _tomorrow_at(time(8), NEW_YORK)
    assert NEW_YORK in portal_client.get("/me/contact").get_data(as_text=True)

    campaign = Campaign(name="Offers", purpose="offers", channel="email", created_by="test")
    db.session.add(campaign)
    db.session.flush()
    db.session.add(CampaignTemplate(campaign_id=campaign.id, subject="Hi", body_text="Hello"))
    db.session.commit()
    zones = {row.zone: row for row in forecast_campaign(db.session, campaign, noon_in_rome).zones}
    assert list(zones) == [NEW_YORK] and zones[NEW_YORK].deferred == 1

    birthday = BirthdayToday()
    for zone, chosen in ((NEW_YORK, True), (ROME, False)):
        ctx = SegmentContext("birthday", "email", _tomorrow_at(time(9), zone))
        found = db.session.scalars(select(Customer.id).where(birthday.where(9, ctx))).all()
        assert (tess.id in found) is chosen, zone

    export = portal_client.get("/me/account/export")
    document = json.loads(export.data)
    assert document["customer"]["timezone"] == NEW_YORK
    assert export.get_data(as_text=True).count('"timezone"') == 1


def test_an_unknown_time_zone_or_a_stale_form_changes_nothing(portal_client, tess):
    for zone in ("Mars/Olympus_Mons", "../../etc/passwd", "", "x" * 10_000):
        response = _save(portal_client, tess, timezone=zone)
        assert response.status_code == 400, zone
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    stale = _settings_version(portal_client)
    assert _save(portal_client, tess, stale, timezone="Asia/Tokyo").status_code == 302
    other_tab = _save(portal_client, tess, stale, timezone=NEW_YORK)
    assert other_tab.status_code == 409
    assert "changed in another window" in other_tab.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Customer, tess.id).timezone == "Asia/Tokyo"


def test_a_pause_keeps_its_date_when_the_time_zone_changes(portal_client, tess):
    limits = {"version": "0", "paused_until": "2999-01-31", "preferred_channel": ""}
    data = {"csrf_token": csrf_token(portal_client, "/me/contact"), **limits}
    assert portal_client.post("/me/contact/limits", data=data).status_code == 302
    assert _save(portal_client, tess, timezone=NEW_YORK).status_code == 302
    assert 'value="2999-01-31"' in portal_client.get("/me/contact").get_data(as_text=True)
    db.session.expire_all()
    paused = db.session.get(ContactPreferences, tess.id).paused_until
    assert paused == datetime(2999, 1, 31, tzinfo=ZoneInfo(NEW_YORK)).astimezone(UTC)


def test_a_changed_language_is_the_one_every_message_uses(portal_client, tess):
    set_sharing(db.session, tess, {("language", "offers"): True})
    assert _save(portal_client, tess, language="de").status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, tess.id).language == "de"
    assert "language" not in read_own_profile(db.session, tess)  # held once, on the account
    printed = read_fields(db.session, tess, purpose="offers", fields={"language"}, actor="test")
    assert printed == {"language": "de"}
    document = json.loads(portal_client.get("/me/account/export").data)
    assert document["customer"]["language"] == "de" and "language" not in document["profile"]

    assert _save(portal_client, tess, language="it").status_code == 302
    assert "I miei dati" in portal_client.get("/me/data").get_data(as_text=True)
    refused = _save(portal_client, tess, language="tlh")
    assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.get(Customer, tess.id).language == "it"
