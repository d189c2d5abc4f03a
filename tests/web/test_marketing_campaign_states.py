"""What a marketer sees of a campaign that is no longer a draft: cancelled messages in the
progress, a read-only page with the actions possible instead of the editor, runs that start
while the progress page is open; and the editor's labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.campaigns.run import refresh_open_runs, run_if_due
from tests.helpers import CSRF_RE
from tests.web.test_marketing_console import create, seed_people

INTERNAL = ("await_next", "resume_running", "finish", "start")


@pytest.fixture
def marketer(client, create_staff, login):
    user = create_staff("marketer")
    login(user.email)
    return user


def act(client, campaign_id: int, action: str, version: int):
    page = client.get(f"/marketing/campaigns/{campaign_id}").get_data(as_text=True)
    match = CSRF_RE.search(page)
    return client.post(
        f"/marketing/campaigns/{campaign_id}/{action}",
        data={"csrf_token": match.group(1) or match.group(2), "version": str(version)},
    )


def test_a_cancelled_run_shows_its_cancelled_messages(app, client, session, marketer):
    seed_people(session, count=3)
    campaign_id = create(client)
    assert act(client, campaign_id, "schedule", 1).status_code == 302
    run = run_if_due(session, campaign_id, datetime.now(UTC))
    assert act(client, campaign_id, "cancel", 3).status_code == 302

    report = client.get(f"/marketing/runs/{run.id}/progress.json").get_json()
    assert report["cancelled"] == 3 and report["sent"] == 0
    assert report["label"] == "sending, 3 cancelled before sending"
    assert refresh_open_runs(session) == 1  # the scheduler completes the run
    report = client.get(f"/marketing/runs/{run.id}/progress.json").get_json()
    assert (report["status"], report["label"]) == ("completed", "cancelled")
    page = client.get(f"/marketing/campaigns/{campaign_id}/progress").get_data(as_text=True)
    assert re.search(rf'id="run-{run.id}-cancelled">3<', page)
    assert f'Run {run.id} · <span data-field="label">cancelled</span>' in page
    results = client.get(f"/marketing/campaigns/{campaign_id}/results").get_data(as_text=True)
    assert 'id="results-cancelled">3<' in results


def test_edit_on_a_scheduled_campaign_is_read_only_with_its_actions(app, client, marketer):
    campaign_id = create(client)
    assert act(client, campaign_id, "schedule", 1).status_code == 302

    page = client.get(f"/marketing/campaigns/{campaign_id}/edit")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="body_text_a"' not in text and "Save draft" not in text
    assert "Only a draft can be edited; unschedule it first." in text
    for action in ("unschedule", "pause", "cancel"):
        assert f"/campaigns/{campaign_id}/{action}" in text
    assert "Dear {{ first_name }} from {{ city }}" in text  # the template, read-only

    match = CSRF_RE.search(text)
    saved = client.post(
        f"/marketing/campaigns/{campaign_id}/edit",
        data={"csrf_token": match.group(1) or match.group(2), "name": "x", "save": "Save draft"},
    )
    assert saved.status_code == 409
    refused = saved.get_data(as_text=True)
    assert "Only a draft can be edited" in refused
    assert not any(name in refused for name in INTERNAL)


def test_edit_on_a_running_campaign_offers_pause_and_cancel(app, client, session, marketer):
    seed_people(session, count=2)
    campaign_id = create(client, schedule_kind="cron", cron="0 9 * * *")
    assert act(client, campaign_id, "schedule", 1).status_code == 302
    from app.campaigns.models import Campaign
    from app.transaction import transaction

    with transaction(session):
        session.get(Campaign, campaign_id).status = "running"
    text = client.get(f"/marketing/campaigns/{campaign_id}/edit").get_data(as_text=True)
    assert "Cannot edit a campaign that is running. Only a draft can be edited." in text
    assert f"/campaigns/{campaign_id}/pause" in text and f"/campaigns/{campaign_id}/cancel" in text
    assert f"/campaigns/{campaign_id}/unschedule" not in text
    assert not any(name in text for name in INTERNAL)


def test_the_progress_json_of_a_campaign_lists_a_run_once_it_starts(app, client, session, marketer):
    seed_people(session, count=2)
    campaign_id = create(client)
    before = client.get(f"/marketing/campaigns/{campaign_id}/progress")
    assert "has not run yet" in before.get_data(as_text=True)
    assert client.get(f"/marketing/campaigns/{campaign_id}/progress.json").get_json()["runs"] == []
    assert act(client, campaign_id, "schedule", 1).status_code == 302
    page = client.get(f"/marketing/campaigns/{campaign_id}/progress").get_data(as_text=True)
    assert "Its first run appears here when it starts." in page
    assert 'data-campaign-status="scheduled"' in page
    run = run_if_due(session, campaign_id, datetime.now(UTC))
    report = client.get(f"/marketing/campaigns/{campaign_id}/progress.json").get_json()
    assert [r["run_id"] for r in report["runs"]] == [run.id]
    assert report["runs"][0]["messages"] == 2
    assert client.get("/marketing/campaigns/9999/progress.json").status_code == 404


def test_the_editor_shows_labels_and_one_preview_id(app, client, marketer):
    text = client.get("/marketing/campaigns/new").get_data(as_text=True)
    assert '<option value="offers">Offers newsletter</option>' in text
    assert '<option value="email">E-mail</option>' in text
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
