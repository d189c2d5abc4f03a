"""The marketer console's customer value pages: refit button, class grid, movement, forecast."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.marketing.models import ValueFit
from tests.helpers import csrf_token
from tests.integration.builders import PROFILE
from tests.integration.value_builders import buyers


@pytest.fixture
def marketer(client, create_staff, login):
    user = create_staff("marketer")
    login(user.email)
    return user


def refit(client):
    token = csrf_token(client, "/marketing/values")
    return client.post("/marketing/values", data={"csrf_token": token, "submit": "1"})


def test_the_button_refits_and_the_page_shows_classes_movement_and_fits(
    app, client, session, marketer
):
    buyers(session, 24)
    assert "No model fitted yet" in client.get("/marketing/values").get_data(as_text=True)
    response = refit(client)
    assert response.status_code == 302
    fit = session.scalars(select(ValueFit)).one()
    assert fit.trigger == "console"
    page = client.get("/marketing/values").get_data(as_text=True)
    in_grid = [int(n) for n in re.findall(r'id="class-[a-z_]+">(\d+)<', page)]
    assert len(in_grid) == 5 and sum(in_grid) == 24
    assert "Movement between classes since the previous fit" in page
    assert f"{fit.bgnbd_r:.3f}, {fit.bgnbd_alpha:.3f}" in page
    for secret in (PROFILE["first_name"], PROFILE["last_name"], "@example.org"):
        assert secret not in page
    rows = client.get("/marketing/values.csv").get_data(as_text=True).splitlines()
    assert rows[0].startswith("group,name,customers")
    assert sum(int(r.split(",")[2]) for r in rows if r.startswith("class,")) == 24


def test_too_little_history_is_said_plainly(app, client, session, marketer):
    buyers(session, 4)
    page = refit(client)
    page = client.get("/marketing/values").get_data(as_text=True)
    assert "Value scores recomputed for 4 customers." in page
    assert "Not enough purchase history to fit the value models" in page


def test_the_forecast_counts_the_audience_by_class(app, client, session, marketer):
    buyers(session, 22)
    refit(client)
    token = csrf_token(client, "/marketing/campaigns/new")
    response = client.post(
        "/marketing/campaigns/new",
        data={
            "csrf_token": token,
            "name": "By class",
            "purpose": "offers",
            "channel": "email",
            "schedule_kind": "now",
            "timezone": "UTC",
            "holdout_percent": "0",
            "body_text_a": "Hello {{ first_name }}",
            "subject_a": "Hi",
            "weight_a": "100",
            "weight_b": "100",
            "save": "1",
        },
    )
    campaign_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/marketing/campaigns/{campaign_id}/forecast").get_data(as_text=True)
    assert "Eligible by profitability class" in page
    reached = [int(n) for n in re.findall(r'id="reach-[a-z_]+">(\d+)<', page)]
    assert len(reached) == 6 and sum(reached) == 22
