"""Refitting the value models on the database: fits kept, scores and classes, movement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns import service
from app.customers.models import Customer
from app.ledger import consent
from app.marketing.classes import CLASSES
from app.marketing.forecast import forecast_campaign
from app.marketing.forecast_value import NOT_PROFILED, reach_by_class
from app.marketing.models import CustomerValue, ValueFit
from app.marketing.value_reports import class_summary, movement_table
from app.marketing.value_service import MIN_CUSTOMERS, refit_if_due, refit_values
from app.vault.models import VaultAccess
from tests.helpers import change_settings
from tests.integration.value_builders import buyers

TEMPLATE = {"subject": "Hello {{ first_name }}", "body_text": "Dear {{ first_name }}"}


def scored(session) -> dict[int, CustomerValue]:
    return {v.customer_id: v for v in session.scalars(select(CustomerValue))}


def test_a_refit_keeps_the_fit_and_scores_only_customers_who_allow_profiling(app, session):
    profiled = buyers(session, 30)
    others = buyers(session, 3, profiled=False, seed=9)
    result = refit_values(session, trigger="cli")
    assert result.fit_id is not None and result.scored == 30 and result.reason is None
    fit = session.get(ValueFit, result.fit_id)
    assert (fit.trigger, fit.customers, fit.time_unit) == ("cli", 30, "week")
    assert 0 < fit.repeat_customers <= 30 and fit.transactions >= 30 + fit.repeat_customers
    assert min(fit.bgnbd_r, fit.bgnbd_alpha, fit.bgnbd_a, fit.bgnbd_b) > 0
    assert min(fit.gg_p, fit.gg_q, fit.gg_gamma) > 0
    assert fit.bgnbd_log_likelihood < 0 and fit.gg_log_likelihood < 0
    assert (fit.margin_percent, fit.discount_rate_percent, fit.horizon_months) == (30, 10, 36)
    rows = scored(session)
    assert set(rows) == set(profiled) and not set(rows) & set(others)
    for row in rows.values():
        assert row.value_class in CLASSES and row.fit_id == fit.id
        assert 0 <= row.p_alive <= 1 and row.fltv_cents >= 0 and row.expected_value_cents >= 0
        assert row.current_value_cents > 0
    counts = json.loads(fit.class_counts_json)
    assert sum(counts.values()) == 30
    assert {c.name: c.customers for c in class_summary(session)} == counts
    assert json.loads(fit.movement_json) == {"new": {k: n for k, n in counts.items() if n}}
    logged = session.scalars(
        select(VaultAccess).where(VaultAccess.actor == "marketing:value-scores")
    )
    assert [(a.fields, a.customer_count) for a in logged] == [("purchase_history", 30)]


def test_the_next_fit_shows_movement_and_who_left(app, session):
    ids = buyers(session, 25)
    first = refit_values(session)
    before = {cid: row.value_class for cid, row in scored(session).items()}
    leaving = session.get(Customer, ids[0])
    consent.withdraw(
        session,
        leaving,
        purpose="recommendations",
        channel="email",
        source="portal",
        method="web_form",
        actor="customer",
    )
    second = refit_values(session, datetime.now(UTC) + timedelta(days=7))
    assert second.fit_id != first.fit_id and second.scored == 24
    fit = session.get(ValueFit, second.fit_id)
    rows, columns, table = movement_table(fit)
    assert table[before[ids[0]]]["left"] == 1
    assert sum(table[r][c] for r in rows for c in columns) == 25
    assert sum(table["new"].values()) == 0
    now = {cid: row.value_class for cid, row in scored(session).items()}
    for before_class in set(before.values()):
        for after_class in set(now.values()):
            moved = sum(1 for c in now if before[c] == before_class and now[c] == after_class)
            assert table[before_class][after_class] == moved


def test_too_little_history_scores_tiers_but_fits_no_model(app, session):
    buyers(session, MIN_CUSTOMERS - 15)
    result = refit_values(session)
    assert result.fit_id is None and "Not enough purchase history" in result.reason
    assert session.scalar(select(func.count()).select_from(ValueFit)) == 0
    rows = scored(session).values()
    assert len(rows) == 5 and all(r.tier and r.value_class is None for r in rows)
    assert all(r.expected_value_cents is None and r.current_value_cents > 0 for r in rows)


def test_the_scheduled_refit_runs_once_the_last_one_is_a_week_old(app, session):
    buyers(session, 22)
    now = datetime.now(UTC)
    assert refit_if_due(session, now).fit_id is not None
    assert refit_if_due(session, now + timedelta(days=6)) is None
    later = refit_if_due(session, now + timedelta(days=7, minutes=1))
    assert session.get(ValueFit, later.fit_id).trigger == "schedule"
    change_settings(app, value_refit_days=1)
    assert refit_if_due(session, now + timedelta(days=8, minutes=2)) is not None


def test_classes_select_segments_and_split_the_forecast(app, session):
    buyers(session, 26)
    buyers(session, 3, profiled=False, seed=9)
    refit_values(session)
    counts = {c.name: c.customers for c in class_summary(session)}
    campaign = service.create_campaign(
        session,
        actor="test",
        name="Everyone",
        purpose="offers",
        channel="email",
        templates=[TEMPLATE],
    )
    forecast = forecast_campaign(session, campaign)
    assert forecast.eligible == 29
    reach = {r.name: r.eligible for r in reach_by_class(session, campaign, 29, forecast.at)}
    assert reach == {**counts, NOT_PROFILED: 3}
    biggest = max(counts, key=counts.get)
    narrow = service.create_campaign(
        session,
        actor="test",
        name="One class",
        purpose="offers",
        channel="email",
        templates=[TEMPLATE],
        segment={"value_class": [biggest]},
    )
    assert forecast_campaign(session, narrow).eligible == counts[biggest]


@pytest.mark.parametrize("bad", [["platinum"], [], "most_valuable"])
def test_a_value_class_segment_names_known_classes(app, session, bad):
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="value_class"):
        service.create_campaign(
            session,
            actor="test",
            name="Bad",
            purpose="offers",
            channel="email",
            templates=[TEMPLATE],
            segment={"value_class": bad},
        )


def test_the_scheduler_job_refits_when_due(app, session):
    from app.campaigns import jobs
    from app.marketing.jobs import refit_values as refit_job

    buyers(session, 21)
    session.commit()
    jobs.bind_app(app)
    refit_job()
    refit_job()  # not due again for a week
    session.expire_all()
    fits = session.scalars(select(ValueFit)).all()
    assert [f.trigger for f in fits] == ["schedule"] and fits[0].customers == 21


def test_refit_and_fits_commands(app, session, runner):
    buyers(session, 4)
    refused = runner.invoke(args=["value", "refit"])
    assert refused.exit_code == 1 and "Not enough purchase history" in refused.output
    assert "No fit yet." in runner.invoke(args=["value", "fits"]).output
    buyers(session, 20, seed=5)
    done = runner.invoke(args=["value", "refit"])
    assert done.exit_code == 0, done.output
    assert "Scored 24 customers" in done.output and "Fit #" in done.output
    listed = runner.invoke(args=["value", "fits"]).output
    assert "cli" in listed and "24 customers" in listed and "BG/NBD r=" in listed


def test_a_withdrawal_leaves_class_segments_before_the_next_refit(app, session):
    ids = buyers(session, 22)
    refit_values(session)
    leaving = scored(session)[ids[0]].value_class
    campaign = service.create_campaign(
        session,
        actor="test",
        name="Class",
        purpose="offers",
        channel="email",
        templates=[TEMPLATE],
        segment={"value_class": [leaving]},
    )
    before = forecast_campaign(session, campaign).eligible
    consent.withdraw(
        session,
        session.get(Customer, ids[0]),
        purpose="recommendations",
        channel="email",
        source="portal",
        method="web_form",
        actor="customer",
    )
    assert forecast_campaign(session, campaign).eligible == before - 1
