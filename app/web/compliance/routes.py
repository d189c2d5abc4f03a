"""Compliance console pages."""

from __future__ import annotations

from flask import render_template

from app.extensions import db
from app.ledger.overview import ledger_overview
from app.web.access import roles_required
from app.web.compliance import bp

OFFICER = "compliance_officer"


@bp.get("/")
@roles_required(OFFICER)
def home():
    """Overview: ledger size, latest checkpoint, consent totals."""
    return render_template("compliance/home.html", overview=ledger_overview(db.session))
