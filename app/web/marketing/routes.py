"""Marketer console pages: aggregates only, never individual customers."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, flash, redirect, render_template, request, url_for

from app.extensions import db
from app.ledger.overview import consent_totals
from app.marketing.calendar import COUNTRIES, birthday_schedule, calendar_source, upcoming
from app.marketing.classes import CLASS_LABELS
from app.marketing.moments import birthday_forecast
from app.marketing.value import TIER_LABELS
from app.marketing.value_reports import (
    class_summary,
    last_computed,
    latest_fit,
    movement_table,
    recent_fits,
    tier_summary,
)
from app.marketing.value_service import refit_values
from app.models_base import utcnow
from app.web.access import roles_required
from app.web.marketing import MARKETER, bp
from app.web.marketing.forms import RecomputeForm


@bp.get("/")
@roles_required(MARKETER)
def home():
    """Campaign overview with audience sizes per purpose and channel (aggregates)."""
    return render_template(
        "marketing/home.html",
        totals=consent_totals(db.session),
        tiers=tier_summary(db.session),
        tier_labels=TIER_LABELS,
        classes=class_summary(db.session),
        class_labels=CLASS_LABELS,
    )


@bp.route("/values", methods=["GET", "POST"])
@roles_required(MARKETER)
def values():
    """Profitability classes, movement, fits and tiers in aggregate; the button refits."""
    form = RecomputeForm()
    if form.validate_on_submit():
        result = refit_values(db.session, trigger="console")
        flash(f"Value scores recomputed for {result.scored} customers.", "success")
        if result.reason:
            flash(result.reason, "error")
        return redirect(url_for("marketing.values"))
    fit = latest_fit(db.session)
    return render_template(
        "marketing/values.html",
        form=form,
        fit=fit,
        fits=recent_fits(db.session),
        classes={row.name: row for row in class_summary(db.session)},
        class_labels=CLASS_LABELS,
        movement=movement_table(fit) if fit else None,
        tiers=tier_summary(db.session),
        tier_labels=TIER_LABELS,
        computed_at=last_computed(db.session),
    )


@bp.get("/values.csv")
@roles_required(MARKETER)
def values_csv():
    """Class and tier sizes with their values as CSV (aggregates only)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["group", "name", "customers", "current_value_cents", "fltv_cents", "expected_value_cents"]
    )
    for row in class_summary(db.session):
        writer.writerow(
            [
                "class",
                row.name,
                row.customers,
                row.current_value_cents,
                row.fltv_cents,
                row.expected_value_cents,
            ]
        )
    for row in tier_summary(db.session):
        writer.writerow(["tier", row.tier, row.customers, "", "", row.expected_value_cents])
    disposition = {"Content-Disposition": "attachment; filename=value-tiers.csv"}
    return Response(out.getvalue(), mimetype="text/csv", headers=disposition)


@bp.get("/calendar")
@roles_required(MARKETER)
def calendar():
    """Holidays and sales of the coming year, by country, usable as campaign schedules; the
    birthdays of the coming week (counts)."""
    country = request.args.get("country", "")
    country = country if country in COUNTRIES else ""
    today: date = utcnow().date()
    return render_template(
        "marketing/calendar.html",
        moments=upcoming(today, country or None),
        country=country,
        countries=COUNTRIES,
        source=calendar_source(),
        birthday=birthday_schedule(),
        birthdays=birthday_forecast(db.session(), today),
    )
