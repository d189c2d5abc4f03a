"""The campaign editor offers only direct-marketing purposes and refuses any other."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.campaigns.models import Campaign
from tests.helpers import csrf_token
from tests.web.test_marketing_console import campaign_form


@pytest.fixture
def marketer(client, create_staff, login):
    user = create_staff("marketer")
    login(user.email)
    return user


def test_the_editor_offers_and_accepts_only_direct_marketing_purposes(client, session, marketer):
    page = client.get("/marketing/campaigns/new").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="purpose".*?</select>', page, re.S).group(0)
    offered = re.findall(r'<option[^>]*value="([^"]+)"', select_html)
    assert offered == ["offers", "birthday", "recommendations", "surveys", "partners"]
    token = csrf_token(client, "/marketing/campaigns/new")
    sale = campaign_form(purpose="service", subject_a="Big SALE {{ first_name }}",
                         body_text_a="Big SALE {{ first_name }}")  # fmt: skip
    response = client.post(
        "/marketing/campaigns/new", data={"csrf_token": token, **sale, "save": "Save draft"}
    )
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Campaign.id))) == 0
