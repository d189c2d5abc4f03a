"""The marketer schedules a campaign on a calendar moment and sees the week's birthdays."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.campaigns.models import Campaign
from tests.helpers import csrf_token
from tests.web.test_marketing_console import campaign_form, seed_people


def test_a_moment_campaign_runs_hourly_for_each_recipients_local_time(client, create_staff, login,
                                                                      session):  # fmt: skip
    login(create_staff("marketer").email)
    token = csrf_token(client, "/marketing/campaigns/new")
    form = campaign_form(moment="black-friday", local_time="08:30", segment='{"languages": ["en"]}')
    response = client.post("/marketing/campaigns/new",
                           data={"csrf_token": token, **form, "save": "Save draft"})  # fmt: skip
    assert response.status_code == 302, response.text[:2000]
    campaign = session.scalars(select(Campaign)).one()
    assert (campaign.schedule_kind, campaign.cron, campaign.cron_timezone) == (
        "cron", "30 * * * *", "UTC",
    )  # fmt: skip
    assert json.loads(campaign.segment_json) == {
        "version": 1,
        "languages": ["en"],
        "moment_today": {"moment": "black-friday", "local_hour": 8},
    }


def test_the_calendar_shows_the_birthdays_of_the_coming_week(client, create_staff, login, session):
    seed_people(session, count=3)  # birthdays shared for the birthday purpose, consent granted
    login(create_staff("marketer").email)
    page = client.get("/marketing/calendar")
    assert page.status_code == 200
    assert 'id="birthdays-week">' in page.text and "moveable, by rule" in page.text
    assert "1977-07-17" not in page.text


def test_the_segment_builder_asks_for_a_moment_and_shows_it_again(client, create_staff, login,
                                                                  session):  # fmt: skip
    login(create_staff("marketer").email)
    token = csrf_token(client, "/marketing/campaigns/new")
    inputs = {
        "seg-moment_today-moment": "easter",
        "seg-moment_today-local_hour": "10",
        "seg-moment_today-countries": "it, de",
    }
    response = client.post("/marketing/campaigns/new",
                           data={"csrf_token": token, **campaign_form(), **inputs,
                                 "save": "Save draft"})  # fmt: skip
    assert response.status_code == 302, response.text[:2000]
    campaign = session.scalars(select(Campaign)).one()
    assert json.loads(campaign.segment_json) == {
        "version": 1,
        "moment_today": {"moment": "easter", "local_hour": 10, "countries": ["IT", "DE"]},
    }
    page = client.get(f"/marketing/campaigns/{campaign.id}/edit").text
    assert '<option value="easter" selected>' in page
    assert 'name="seg-moment_today-local_hour" value="10"' in page
    assert 'name="seg-moment_today-countries" value="IT, DE"' in page
    assert "<code>moment_today</code>" not in page  # not left to the JSON box


def test_a_moment_half_given_or_given_twice_is_refused_with_a_message(client, create_staff, login):
    login(create_staff("marketer").email)
    token = csrf_token(client, "/marketing/campaigns/new")
    half_given = {"seg-moment_today-moment": "easter"}
    half = client.post(
        "/marketing/campaigns/new",
        data={"csrf_token": token, **campaign_form(), **half_given, "save": "Save draft"},
    )
    assert half.status_code == 400
    assert "choose a moment and a local hour" in half.text
    in_builder = {"seg-moment_today-moment": "easter", "seg-moment_today-local_hour": "9"}
    twice = client.post(
        "/marketing/campaigns/new",
        data={
            "csrf_token": token,
            **campaign_form(moment="black-friday"),
            **in_builder,
            "save": "Save draft",
        },
    )
    assert twice.status_code == 400
    assert "set both in the schedule and in the segment" in twice.text
