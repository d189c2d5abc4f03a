"""Compliance console: dashboards (server-drawn SVG charts, each with its table and export)."""

from __future__ import annotations

from flask import abort, render_template, request

from app.compliance.dashboard_panels import PANELS, all_panels
from app.extensions import db
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp
from app.web.compliance.exporting import export_response, requested_format


@bp.get("/dashboards")
@roles_required(OFFICER)
def dashboards():
    """Consent rates (now and week by week), consent activity, expiring consents, denied
    sends, request volume and time to close.

    ``?panel=<key>&format=csv|json`` exports the table behind one chart.
    """
    fmt = requested_format()
    if fmt is not None:
        build = PANELS.get(request.args.get("panel", ""))
        if build is None:
            abort(404)
        return export_response(build(db.session).table, fmt)
    return render_template("compliance/dashboards.html", panels=all_panels(db.session))
