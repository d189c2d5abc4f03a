"""Dashboards over time: the consent rate per purpose and channel week by week (replayed from
the ledger), and the time requests took to close, as server-drawn SVG with their tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.compliance import requests as dsr
from app.compliance.dashboard_trends import consent_rate_trend, time_to_close, week_ends
from app.compliance.dashboards import consent_rates
from app.customers.models import Customer
from app.ledger.appender import record_change
from app.ledger.drafts import EventDraft
from app.transaction import transaction
from tests.integration.builders import make_customer

OFFICER_EMAIL = "officer@staff.example.com"


@pytest.fixture
def officer(client, create_staff, login):
    """The test client signed in as a compliance officer."""
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    return client


def _event(session, customer, channel: str, action: str, when: datetime) -> None:
    """Append a consent event that happened at ``when`` through the ledger's write path."""

    def draft_for(now):
        return EventDraft(
            customer_ref=now.ref,
            purpose="offers",
            channel=channel,
            action=action,
            lawful_basis="consent",
            method="web_form",
            source="portal",
            actor="customer",
            jurisdiction=now.jurisdiction,
            language=now.language,
            event_time=when,
        )

    record_change(session, customer, draft_for)


@pytest.fixture
def history(session):
    """Three customers on file for ten weeks: Anna consented to offers by e-mail six weeks
    ago and withdrew two weeks ago; Bruno consented by SMS four weeks ago; Carla never."""
    now = datetime.now(UTC)
    names = ("anna", "bruno", "carla")
    anna, bruno, _carla = (make_customer(session, email=f"{n}.trend@example.org") for n in names)
    with transaction(session):
        session.execute(update(Customer).values(created_at=now - timedelta(weeks=10)))
    _event(session, anna, "email", "granted", now - timedelta(weeks=6))
    _event(session, bruno, "sms", "granted", now - timedelta(weeks=4))
    _event(session, anna, "email", "withdrawn", now - timedelta(weeks=2))
    return now


def _rate(panel, week: datetime, channel: str) -> str:
    day = week.date().isoformat()
    (row,) = [r for r in panel.table.rows if r["week"] == day and r["channel"] == channel]
    return row["rate"]


def test_the_consent_rate_is_replayed_week_by_week(session, history):
    now = history
    panel = consent_rate_trend(session, now)
    ends = week_ends(now)
    assert len(ends) == 12 and ends[-1] == now
    seven_weeks_ago = max(e for e in ends if e < now - timedelta(weeks=6))
    five_weeks_ago = max(e for e in ends if e < now - timedelta(weeks=4))
    three_weeks_ago = max(e for e in ends if e < now - timedelta(weeks=2))
    assert _rate(panel, seven_weeks_ago, "email") == "0.0%"
    assert _rate(panel, five_weeks_ago, "email") == "33.3%"
    assert _rate(panel, five_weeks_ago, "sms") == "0.0%"
    assert _rate(panel, three_weeks_ago, "email") == "33.3%"
    assert _rate(panel, three_weeks_ago, "sms") == "33.3%"
    assert _rate(panel, now, "email") == "0.0%"
    # The last point is today's snapshot.
    snapshot = {(r["purpose"], r["channel"]): r["rate"] for r in consent_rates(session).table.rows}
    assert snapshot == {("offers", "sms"): _rate(panel, now, "sms")}
    (chart,) = panel.chart
    assert [s.name for s in chart.series] == ["email", "sms"]
    assert all(len(s.points.split()) == 12 for s in chart.series)


def test_time_to_close_per_month_with_late_requests(session):
    now = datetime.now(UTC)
    for days in (5, 40):
        customer = make_customer(session, email=f"close{days}@example.org")
        received = now - timedelta(days=days)
        row = dsr.file_request(
            session, customer, "access", channel="portal", actor="customer", received_at=received
        )
        dsr.refuse(session, row, "Covered by the previous answer", actor="staff:test")
    panel = time_to_close(session)
    (row,) = panel.table.rows
    assert row["closed"] == 2 and row["late"] == 1 and row["median_days"] == "22.5"
    assert [bar.value_text for bar in panel.chart.bars] == ["22.5 days"]


def test_the_dashboards_page_draws_both_charts_without_scripts_or_styles(officer, history):
    page = officer.get("/compliance/dashboards").get_data(as_text=True)
    assert "Consent rate per purpose and channel, week by week" in page
    assert "Consent rate for offers, by channel, per week" in page
    assert "Time to close a request" in page
    assert page.count("<polyline") >= 3  # two channels of offers, and consent activity
    assert "<script" not in page and "style=" not in page
    trend = officer.get("/compliance/dashboards?panel=consent-rate-trend&format=csv")
    lines = trend.get_data(as_text=True).splitlines()
    assert (
        lines[0] == "Week ending (UTC),Purpose,Channel,Customers consenting,Customers on file,Rate"
    )
    assert len(lines) == 1 + 12 * 2
    closing = officer.get("/compliance/dashboards?panel=time-to-close&format=json").get_json()
    assert closing["table"] == "time-to-close"
