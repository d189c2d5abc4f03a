"""Marketer console pages: aggregates only, never individual customers."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, flash, redirect, render_template, request, url_for

from app.extensions import db
from app.ledger.overview import consent_totals
from app.marketing.calendar import COUNTRIES, birthday_schedule, calendar_source, upcoming
from app.marketing.value import TIER_LABELS
from app.marketing.value_service import compute_values, last_computed, tier_summary
from app.models_base import utcnow
from app.web.access import roles_required
from app.web.marketing import MARKETER, bp
from app.web.marketing.forms import RecomputeForm


@bp.get("/")
@roles_required(MARKETER)
def home():
    """Campaign overview with audience sizes per purpose and channel (aggregates)."""
    return render_template(
        "marketing/home.html", totals=consent_totals(db.session), tiers=tier_summary(db.session),
        tier_labels=TIER_LABELS,
    )  # fmt: skip


@bp.route("/values", methods=["GET", "POST"])
@roles_required(MARKETER)
def values():
    """Customer value tiers in aggregate; the button recomputes the scores."""
    form = RecomputeForm()
    if form.validate_on_submit():
        scored = compute_values(db.session)
        flash(f"Value scores recomputed for {scored} customers.", "success")
        return redirect(url_for("marketing.values"))
    return render_template(
        "marketing/values.html", form=form, tiers=tier_summary(db.session),
        tier_labels=TIER_LABELS, computed_at=last_computed(db.session),
    )  # fmt: skip


@bp.get("/values.csv")
@roles_required(MARKETER)
def values_csv():
    """Tier sizes and expected value as CSV (aggregates only)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["tier", "customers", "expected_value_cents", "average_expected_cents"])
    for row in tier_summary(db.session):
        writer.writerow([row.tier, row.customers, row.expected_value_cents,
                         row.average_expected_cents])  # fmt: skip
    disposition = {"Content-Disposition": "attachment; filename=value-tiers.csv"}
    return Response(out.getvalue(), mimetype="text/csv", headers=disposition)


@bp.get("/calendar")
@roles_required(MARKETER)
def calendar():
    """Holidays and sales of the coming year, by country, usable as campaign schedules."""
    country = request.args.get("country", "")
    country = country if country in COUNTRIES else ""
    today: date = utcnow().date()
    return render_template(
        "marketing/calendar.html", moments=upcoming(today, country or None), country=country,
        countries=COUNTRIES, source=calendar_source(), birthday=birthday_schedule(),
    )  # fmt: skip
