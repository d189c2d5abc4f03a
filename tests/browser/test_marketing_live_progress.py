"""In Chromium: the progress page opened before a run picks the run up by itself; a scheduled
campaign's Edit page is read-only and offers its actions as buttons."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.campaigns.models import Campaign
from app.campaigns.run import run_if_due
from app.campaigns.service import create_campaign, schedule_campaign
from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD
from tests.web.test_marketing_console import seed_people


def sign_in(page, user) -> None:
    page.goto("/staff/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/marketing/")


def scheduled_campaign(session) -> int:
    campaign = create_campaign(
        session,
        actor="test",
        name="Live picks",
        purpose="offers",
        channel="email",
        schedule_kind="now",
        templates=[{"subject": "Hi {{ first_name|default('there') }}", "body_text": "{{ offer }}"}],
    )
    schedule_campaign(session, campaign.id, actor="test")
    return campaign.id


def test_the_progress_page_shows_a_run_that_starts_while_it_is_open(
    app, page, session, create_staff
):
    seed_people(session, count=2)
    campaign_id = scheduled_campaign(session)
    sign_in(page, create_staff("marketer"))
    page.goto(f"/marketing/campaigns/{campaign_id}/progress")
    page.get_by_text("Its first run appears here when it starts.").wait_for()
    assert axe_violations(page) == []

    run = run_if_due(session, campaign_id, datetime.now(UTC))
    page.get_by_role("heading", name=f"Run {run.id}").wait_for(timeout=15_000)
    assert page.locator(f"#run-{run.id}-messages").inner_text() == "2"
    assert page.locator(f"#run-{run.id}-cancelled").inner_text() == "0"
    assert axe_violations(page) == []


def test_edit_on_a_scheduled_campaign_is_read_only_with_action_buttons(
    app, page, session, create_staff
):
    campaign_id = scheduled_campaign(session)
    sign_in(page, create_staff("marketer"))
    page.goto(f"/marketing/campaigns/{campaign_id}/edit")
    page.get_by_text("Only a draft can be edited; unschedule it first.").wait_for()
    assert page.get_by_role("button", name="Save draft").count() == 0
    assert page.get_by_text("Offers newsletter").count() == 1
    assert axe_violations(page) == []
    page.get_by_role("button", name="Unschedule").click()
    page.get_by_text("Campaign taken back to draft.").wait_for()
    assert session.get(Campaign, campaign_id, populate_existing=True).status == "draft"
    page.get_by_role("link", name="Edit", exact=True).click()
    assert page.get_by_label("Purpose").locator("option:checked").inner_text() == (
        "Offers newsletter"
    )
    assert page.locator("#preview").count() == 1


def test_a_segment_is_built_with_the_form_and_warns_what_cannot_match(
    app, page, session, create_staff
):
    seed_people(session, count=2)
    sign_in(page, create_staff("marketer"))
    page.goto("/marketing/campaigns/new")
    page.get_by_label("Campaign name").fill("Builder picks")
    page.get_by_label("Purpose").select_option("offers")
    page.get_by_label("Subject (variant A)").fill("Hi {{ first_name|default('there') }}")
    page.get_by_label("Text (variant A)").fill("{{ offer }}")
    page.get_by_label("Languages").fill("en")
    page.get_by_role("group", name="Spend over the last year").get_by_label("high").check()
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("Spend over the last year reads the field purchase_history").wait_for()
    page.get_by_text("With fallbacks").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()
    campaign = session.scalars(select(Campaign).where(Campaign.name == "Builder picks")).one()
    assert '"spend_tiers":["high"]' in campaign.segment_json
