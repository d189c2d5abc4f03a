"""Forecast, results (with SVG charts and CSV export) and live progress — aggregates only."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, jsonify, render_template

from app.campaigns.reports import campaign_progress, run_progress
from app.campaigns.segment_warnings import segment_warnings
from app.campaigns.segments import parse_segment
from app.errors import AssensoError
from app.extensions import db
from app.marketing.charts import bar_chart
from app.marketing.classes import CLASS_LABELS
from app.marketing.forecast import forecast_campaign, rule_label
from app.marketing.forecast_value import reach_by_class
from app.marketing.results import campaign_results
from app.web.access import roles_required
from app.web.marketing import MARKETER, bp
from app.web.marketing.campaign_routes import _campaign_or_404


@bp.get("/campaigns/<int:campaign_id>/forecast")
@roles_required(MARKETER)
def forecast(campaign_id: int):
    """How many the campaign would reach now, who is excluded or deferred and why."""
    campaign = _campaign_or_404(campaign_id)
    by_class, warnings = [], []
    try:
        result, problem = forecast_campaign(db.session(), campaign), None
        by_class = reach_by_class(db.session(), campaign, result.eligible, result.at)
        segment = parse_segment(campaign.segment_json)
        warnings = segment_warnings(db.session(), segment, campaign.purpose)
    except AssensoError as exc:
        result, problem = None, str(exc)
    return render_template(
        "marketing/forecast.html",
        campaign=campaign,
        forecast=result,
        problem=problem,
        rule_label=rule_label,
        by_class=by_class,
        class_labels=CLASS_LABELS,
        warnings=warnings,
    )


def _charts(report: dict) -> list:
    variants = report["variants"]
    delivery = bar_chart(
        "Messages per variant: sent, delivered, bounced",
        [
            (f"{v} {kind}", row[kind], str(row[kind]))
            for v, row in variants.items()
            for kind in ("sent", "delivered", "bounced")
        ],
        css_classes=("bar-sent", "bar-delivered", "bar-bounced"),
    )
    rates = bar_chart(
        f"Conversion rate within {report['window_days']} days, variants against holdout",
        [
            (c.group, c.rate, f"{c.rate:.0%} ({c.converted}/{c.measurable})")
            for c in report["conversions"]
        ],
        css_classes=("bar-rate",),
        maximum=1.0,
    )
    return [delivery, rates]


@bp.get("/campaigns/<int:campaign_id>/results")
@roles_required(MARKETER)
def results(campaign_id: int):
    """Results per variant against the holdout, with server-rendered charts."""
    campaign = _campaign_or_404(campaign_id)
    report = campaign_results(db.session(), campaign)
    return render_template(
        "marketing/results.html",
        campaign=campaign,
        report=report,
        charts=_charts(report),
        rule_label=rule_label,
    )


@bp.get("/campaigns/<int:campaign_id>/results.csv")
@roles_required(MARKETER)
def results_csv(campaign_id: int):
    """The results per variant and group as CSV (counts only)."""
    campaign = _campaign_or_404(campaign_id)
    report = campaign_results(db.session(), campaign)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "group",
            "assigned",
            "sent",
            "delivered",
            "bounced",
            "unsubscribed",
            "measurable",
            "converted",
            "conversion_rate",
        ]
    )
    conversions = {c.group: c for c in report["conversions"]}
    for group in [*report["variants"], *(g for g in conversions if g not in report["variants"])]:
        row = report["variants"].get(group, {})
        c = conversions.get(group)
        writer.writerow(
            [
                group,
                row.get("assigned", c.members if c else 0),
                row.get("sent", 0),
                row.get("delivered", 0),
                row.get("bounced", 0),
                row.get("unsubscribed", 0),
                c.measurable if c else 0,
                c.converted if c else 0,
                f"{c.rate:.4f}" if c else "",
            ]
        )
    name = f"campaign-{campaign.id}-results.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.get("/campaigns/<int:campaign_id>/progress")
@roles_required(MARKETER)
def progress(campaign_id: int):
    """Progress of the campaign's runs (newest first); a small script keeps it live."""
    campaign = _campaign_or_404(campaign_id)
    report = campaign_progress(db.session(), campaign)
    return render_template("marketing/progress.html", campaign=campaign, runs=report["runs"])


@bp.get("/campaigns/<int:campaign_id>/progress.json")
@roles_required(MARKETER)
def campaign_progress_json(campaign_id: int):
    """The campaign's state and its runs' progress as JSON (counts only), for the poller,
    which picks up a run that starts while the page is open."""
    campaign = _campaign_or_404(campaign_id)
    return jsonify(campaign_progress(db.session(), campaign))


@bp.get("/runs/<int:run_id>/progress.json")
@roles_required(MARKETER)
def run_progress_json(run_id: int):
    """One run's progress as JSON (counts only), for the poller."""
    report = run_progress(db.session(), run_id)
    if report.get("status") == "missing":
        abort(404)
    return jsonify(report)
