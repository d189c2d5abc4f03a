"""Marketer console pages: aggregates only, never individual customers."""

from __future__ import annotations

from flask import render_template

from app.extensions import db
from app.ledger.overview import consent_totals
from app.web.access import roles_required
from app.web.marketing import bp

MARKETER = "marketer"


@bp.get("/")
@roles_required(MARKETER)
def home():
    """Campaign overview with audience sizes per purpose and channel (aggregates)."""
    return render_template("marketing/home.html", totals=consent_totals(db.session))
