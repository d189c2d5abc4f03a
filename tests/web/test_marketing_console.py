"""Marketer console: the whole flow on the test client, access per role, and no personal data.

``seed_people`` registers customers with distinctive values; every marketer response —
each page of the URL map, previews, forecasts, results, progress JSON and CSV exports — is
searched for them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.models import Campaign
from app.campaigns.run import run_if_due
from app.ledger import consent
from app.ledger.notices import publish_notice
from app.marketing.models import CustomerValue
from app.transaction import transaction
from app.vault import service as vault
from app.vault.models import VaultAccess
from tests.helpers import CSRF_RE, csrf_token
from tests.web.urls import routes_of

SECRETS = {
    "first_name": "Zebulonia",
    "last_name": "Quixotevska",
    "phone": "+393339876543",
    "city": "Quokkaville",
    "postcode": "98765",
    "birthday": "1977-07-17",
}
SECRET_EMAIL = "zebulonia.quixotevska{}@example.org"


def midday_zone(now: datetime | None = None) -> str:
    """An ``Etc/GMT±N`` zone where it is about noon now, so no quiet hours apply."""
    hour = (now or datetime.now(UTC)).hour
    offset = (12 - hour + 12) % 24 - 12  # -12 .. 11 hours from UTC
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def purchases(n: int, category: str) -> str:
    now = datetime.now(UTC)
    return json.dumps([
        {"sku": f"SKU-{i}", "category": category, "amount_cents": 1500 + 700 * i,
         "at": (now - timedelta(days=5 + 37 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i in range(n)
    ])  # fmt: skip


def seed_people(session, count: int = 6, zone: str | None = None) -> list[int]:
    """Customers with distinctive personal data, consenting to offers and recommendations."""
    notices = {
        purpose: publish_notice(
            session,
            purpose=purpose,
            language="en",
            title=purpose,
            text=f"About {purpose}.",
            effective_at=datetime.now(UTC) - timedelta(days=1),
        )
        for purpose in ("offers", "recommendations", "birthday")
    }
    ids = []
    for index in range(count):
        profile = {
            **SECRETS,
            "purchase_history": purchases(1 + index, ("wine", "books")[index % 2]),
        }
        customer = vault.register_customer(
            session, email=SECRET_EMAIL.format(index), profile=profile,
            timezone=zone or midday_zone(), age_attested=40,
        )  # fmt: skip
        shares = {(f, "offers"): True for f in ("first_name", "last_name", "city")}
        shares |= {(f, "recommendations"): True for f in ("first_name", "purchase_history")}
        shares |= {(f, "birthday"): True for f in ("first_name", "birthday")}
        vault.set_sharing(session, customer, shares)
        for purpose, notice in notices.items():
            consent.grant(
                session, customer, purpose=purpose, channel="email", notice=notice,
                source="import", method="import", actor="test", skip_double_opt_in=True,
            )  # fmt: skip
        with transaction(session):
            customer.email_verified = True
        ids.append(customer.id)
    return ids


def campaign_form(**overrides) -> dict:
    """A valid editor form for an offers e-mail campaign sent now."""
    data = {
        "name": "Autumn picks", "purpose": "offers", "channel": "email", "segment": "",
        "schedule_kind": "now", "moment": "", "scheduled_at": "", "timezone": "UTC",
        "local_time": "", "cron": "", "holdout_percent": "0", "throttle_per_minute": "",
        "subject_a": "Hello {{ first_name }}", "weight_a": "100",
        "body_text_a": "Dear {{ first_name }} from {{ city }}: {{ offer }}. {{ unsubscribe_url }}",
        "body_html_a": "", "subject_b": "", "body_text_b": "", "body_html_b": "",
        "weight_b": "100",
    }  # fmt: skip
    data.update(overrides)
    return data


def leaks(text: str, count: int = 6) -> list[str]:
    """Every seeded personal value found in ``text``."""
    values = [*SECRETS.values(), *(SECRET_EMAIL.format(i) for i in range(count))]
    values += ["Zebulonia", "Quixotevska", "3339876543", "07-17"]
    return [value for value in values if value.lower() in text.lower()]


@pytest.fixture
def marketer(client, create_staff, login):
    user = create_staff("marketer")
    login(user.email)
    return user


def create(client, **overrides) -> int:
    token = csrf_token(client, "/marketing/campaigns/new")
    response = client.post("/marketing/campaigns/new", data={"csrf_token": token,
                           **campaign_form(**overrides), "save": "Save draft"})  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/campaigns/(\d+)", response.headers["Location"]).group(1))


def test_marketer_creates_previews_forecasts_schedules_and_sees_results(
    app, client, session, marketer
):
    seed_people(session)
    token = csrf_token(client, "/marketing/campaigns/new")
    preview = client.post("/marketing/campaigns/new", data={
        "csrf_token": token, **campaign_form(body_text_a="Hi {{ first_name }} {{ birthday }}"),
        "preview": "Preview"})  # fmt: skip
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Hi Alex 2000-01-01" in page  # placeholders, not people
    assert "Template field &#39;birthday&#39; is not allowed for purpose &#39;offers&#39;" in page
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0

    campaign_id = create(client)
    forecast = client.get(f"/marketing/campaigns/{campaign_id}/forecast").get_data(as_text=True)
    assert re.search(r'id="forecast-eligible">6<', forecast)

    page = client.get(f"/marketing/campaigns/{campaign_id}").get_data(as_text=True)
    match = CSRF_RE.search(page)
    token = match.group(1) or match.group(2)
    response = client.post(
        f"/marketing/campaigns/{campaign_id}/schedule", data={"csrf_token": token, "version": "1"}
    )
    assert response.status_code == 302
    assert session.get(Campaign, campaign_id).status == "scheduled"

    run = run_if_due(session, campaign_id, datetime.now(UTC))
    assert run.allowed + run.deferred == 6
    progress = client.get(f"/marketing/runs/{run.id}/progress.json").get_json()
    assert progress["messages"] == 6 and progress["status"] == "sending"
    results = client.get(f"/marketing/campaigns/{campaign_id}/results")
    assert results.status_code == 200 and b"<svg" in results.data
    assert b"style=" not in results.data


def test_value_scores_recompute_with_one_access_log_entry(app, client, session, marketer):
    seed_people(session)
    token = csrf_token(client, "/marketing/values")
    response = client.post("/marketing/values", data={"csrf_token": token, "submit": "1"})
    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(CustomerValue)) == 6
    logged = session.scalars(select(VaultAccess).where(VaultAccess.actor.like("marketing:%")))
    assert [(a.purpose, a.fields, a.customer_count) for a in logged] == [
        ("recommendations", "purchase_history", 6)
    ]
    rows = client.get("/marketing/values.csv").get_data(as_text=True).splitlines()
    assert sum(int(r.split(",")[2]) for r in rows if r.startswith("tier,")) == 6


def test_stale_versions_and_impossible_actions_are_refused_politely(app, client, marketer):
    campaign_id = create(client)
    page = client.get(f"/marketing/campaigns/{campaign_id}").get_data(as_text=True)
    match = CSRF_RE.search(page)
    token = match.group(1) or match.group(2)
    url = f"/marketing/campaigns/{campaign_id}"
    stale = client.post(
        f"{url}/cancel", data={"csrf_token": token, "version": "7"}, follow_redirects=True
    )
    assert "changed by someone else" in stale.get_data(as_text=True)
    wrong = client.post(
        f"{url}/resume", data={"csrf_token": token, "version": "1"}, follow_redirects=True
    )
    assert "Cannot resume a campaign that is draft" in wrong.get_data(as_text=True)


def test_no_marketer_response_contains_personal_data(app, client, session, marketer):
    ids = seed_people(session)
    campaign_id = create(client, segment='{"value_tier": ["champions", "loyal", "promising", '
                         '"at_risk", "dormant"]}')  # fmt: skip
    client.post("/marketing/values", data={"csrf_token": csrf_token(client, "/marketing/values")})
    draft = create(client, name="Birthday draft", purpose="birthday",
                   body_text_a="Happy birthday {{ first_name }} {{ birthday }}")  # fmt: skip
    page = client.get(f"/marketing/campaigns/{campaign_id}").get_data(as_text=True)
    match = CSRF_RE.search(page)
    client.post(f"/marketing/campaigns/{campaign_id}/schedule",
                data={"csrf_token": match.group(1) or match.group(2), "version": "1"})  # fmt: skip
    run = run_if_due(session, campaign_id, datetime.now(UTC))
    assert run.candidates == len(ids)
    responses = {}
    for rule, _ in routes_of(app, method="GET"):
        if not rule.endpoint.startswith("marketing."):
            continue
        for values in (
            {"campaign_id": campaign_id, "run_id": run.id},
            {"campaign_id": draft, "run_id": run.id},
        ):
            url = rule.build(values, append_unknown=False)[1]
            responses[url] = client.get(url)
    token = csrf_token(client, "/marketing/campaigns/new")
    for name in ("preview", "save"):
        responses[f"new:{name}"] = client.post("/marketing/campaigns/new", data={
            "csrf_token": token, **campaign_form(name=f"Copy {name}"), name: name})  # fmt: skip
    responses["preview.json"] = client.post(
        "/marketing/campaigns/preview.json", data={"csrf_token": token, **campaign_form()}
    )
    assert all(r.status_code < 500 for r in responses.values())
    assert responses[f"/marketing/campaigns/{campaign_id}/results.csv"].status_code == 200
    assert len([u for u, r in responses.items() if r.status_code == 200]) >= 15
    found = {url: leaks(r.get_data(as_text=True)) for url, r in responses.items()}
    assert {url: values for url, values in found.items() if values} == {}


@pytest.mark.parametrize("role", ["admin", "compliance_officer"])
def test_other_roles_are_refused_every_marketer_page(app, client, create_staff, login, role):
    login(create_staff(role).email)
    for rule, url in routes_of(app, method="GET"):
        if rule.endpoint.startswith("marketing."):
            assert client.get(url).status_code == 403, rule.endpoint
    token = csrf_token(client, {"admin": "/admin/", "compliance_officer": "/compliance/"}[role])
    for path in ("/marketing/values", "/marketing/campaigns/new", "/marketing/campaigns/1/pause"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def test_marketer_pages_answer_and_navigation_lists_them(app, client, marketer):
    home = client.get("/marketing/").get_data(as_text=True)
    for label in ("Campaign list", "New campaign", "Customer value", "Calendar"):
        assert label in home
    for path in ("/marketing/campaigns", "/marketing/campaigns/new", "/marketing/values",
                 "/marketing/calendar?country=IT", "/marketing/calendar?country=<x>"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    assert client.get("/marketing/campaigns/999").status_code == 404
    assert client.get("/marketing/runs/999/progress.json").status_code == 404
