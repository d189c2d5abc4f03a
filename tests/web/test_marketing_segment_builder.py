"""The segment builder: conditions as form inputs (JSON still accepted), one name per
condition, and a counted warning when a condition cannot match under the purpose."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.campaigns.models import Campaign
from app.customers.models import Customer
from app.vault import service as vault
from tests.helpers import csrf_token
from tests.web.test_marketing_console import campaign_form, seed_people


@pytest.fixture
def marketer(client, create_staff, login):
    user = create_staff("marketer")
    login(user.email)
    return user


def post_new(client, **fields):
    token = csrf_token(client, "/marketing/campaigns/new")
    data = {"csrf_token": token, **campaign_form(), "save": "Save draft"}
    data.update(fields)
    return client.post("/marketing/campaigns/new", data=data)


def test_a_segment_is_built_from_form_inputs_without_json(app, client, session, marketer):
    response = post_new(
        client,
        **{
            "seg-languages": "it, en",
            "seg-cities": "Milano,  Roma",
            "seg-spend_tiers": ["high", "mid"],
            "seg-consent_age_days-at_least": "30",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    campaign = session.scalars(select(Campaign)).one()
    assert json.loads(campaign.segment_json) == {
        "cities": ["Milano", "Roma"],
        "consent_age_days": {"at_least": 30},
        "languages": ["it", "en"],
        "spend_tiers": ["high", "mid"],
        "version": 1,
    }
    page = client.get(f"/marketing/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'name="seg-languages" aria-describedby="seg-languages-hint" value="it, en"' in page
    assert re.search(r'name="seg-spend_tiers" value="high" checked', page)
    assert 'name="seg-consent_age_days-at_least" value="30"' in page


def test_json_is_still_accepted_and_the_former_name_is_saved_under_the_new_one(
    app, client, session, marketer
):
    response = post_new(client, segment='{"value_tiers": ["low"]}')
    assert response.status_code == 302
    campaign = session.scalars(select(Campaign)).one()
    assert json.loads(campaign.segment_json) == {"spend_tiers": ["low"], "version": 1}
    page = client.get(f"/marketing/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert re.search(r'name="seg-spend_tiers" value="low" checked', page)
    assert "value_tiers" not in page


def test_a_condition_set_twice_or_badly_is_refused_with_a_message(app, client, marketer):
    twice = post_new(client, segment='{"languages": ["it"]}', **{"seg-languages": "en"})
    assert twice.status_code == 400
    assert "Languages is set both in the form and in the segment JSON." in twice.get_data(
        as_text=True
    )
    bad = post_new(client, **{"seg-consent_expiring_within_days": "soon"})
    assert bad.status_code == 400
    assert "enter a whole number" in bad.get_data(as_text=True)


def test_conditions_that_cannot_match_under_the_purpose_are_counted(app, client, session, marketer):
    ids = seed_people(session, count=4)
    # offers allow the city; one customer does not share it for offers.
    vault.set_sharing(session, session.get(Customer, ids[0]), {("city", "offers"): False})
    token = csrf_token(client, "/marketing/campaigns/new")
    preview = client.post(
        "/marketing/campaigns/new",
        data={
            "csrf_token": token,
            **campaign_form(body_text_a="{{ offer }}", subject_a="Hi"),
            "seg-cities": "Quokkaville",
            "seg-birthday_today": "9",
            "preview": "Preview",
        },
    ).get_data(as_text=True)
    assert "Cities reads the field city: 1 of 4 customers do not share it" in preview
    assert "which this purpose does not allow: it matches nobody (4 of 4" in preview

    response = post_new(
        client, body_text_a="{{ offer }}", subject_a="Hi", **{"seg-cities": "Quokkaville"}
    )
    campaign_id = int(re.search(r"/campaigns/(\d+)", response.headers["Location"]).group(1))
    forecast = client.get(f"/marketing/campaigns/{campaign_id}/forecast").get_data(as_text=True)
    assert 'id="warning-cities"' in forecast
    assert "1 of 4 customers do not share it for this purpose" in forecast


def test_the_builder_offers_one_condition_per_meaning(app, client, marketer):
    page = client.get("/marketing/campaigns/new").get_data(as_text=True)
    assert "Spend over the last year" in page and "Customer value tier (RFM)" in page
    assert "value_tiers" not in page
    assert page.count('name="seg-spend_tiers"') == 4
