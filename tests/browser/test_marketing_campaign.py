"""A marketer creates, previews, forecasts and schedules a campaign in Chromium; the worker
delivers it to the development mailbox."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from app.campaigns.models import Campaign
from app.campaigns.run import run_if_due
from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker
from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD
from tests.web.test_marketing_console import seed_people


@pytest.fixture
def app(app_factory, mailbox):
    """The application under test, relaying mail to the development mailbox."""
    store, port = mailbox
    application = app_factory(SMTP_PORT=port, DEV_MAILBOX_DIR=str(store.folder))
    with application.app_context():
        yield application


def test_marketer_creates_previews_forecasts_and_schedules_a_delivered_campaign(
    app, page, session, create_staff, mailbox
):
    store, _ = mailbox
    seed_people(session, count=2)
    user = create_staff("marketer")
    page.goto("/staff/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/marketing/")

    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Campaign name").fill("Browser picks")
    page.get_by_label("Purpose").select_option("offers")
    page.get_by_label("Channel").select_option("email")
    page.get_by_label("Subject (variant A)").fill("Hello {{ first_name }}")
    page.get_by_label("Text (variant A)").fill("Dear {{ first_name }}, {{ offer }}.")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("Dear Alex, New in wine").wait_for()
    assert axe_violations(page) == []

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()
    assert axe_violations(page) == []
    campaign_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    page.get_by_role("link", name="Forecast", exact=True).click()
    assert page.locator("#forecast-eligible").inner_text() == "2"
    assert axe_violations(page) == []

    page.get_by_role("link", name="Overview", exact=True).click()
    page.get_by_role("button", name="Schedule").click()
    page.get_by_text("Campaign scheduled.").wait_for()
    assert session.get(Campaign, campaign_id, populate_existing=True).status == "scheduled"

    run = run_if_due(session, campaign_id, datetime.now(UTC))
    assert run.allowed == 2
    DeliveryWorker(app, worker_settings(app)).run(threading.Event(), once=True)
    subjects = [m.subject for m in store.summaries()]
    assert subjects == ["Hello Zebulonia", "Hello Zebulonia"]
    # Each message carries the customer's own next-best offer (they allow recommendations).
    bodies = [store.read(name).text for name in store.names()]
    assert all("New in " in body for body in bodies), bodies

    page.get_by_role("link", name="Progress", exact=True).click()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Results", exact=True).click()
    assert page.locator("#results-sent").inner_text() == "2"
    assert axe_violations(page) == []
