"""Compliance console: the overview page and what every console page shares (integrity banner)."""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from sqlalchemy import select

from app.compliance.integrity import verification_history
from app.compliance.request_queries import request_counts
from app.extensions import db
from app.ledger.models import LedgerVerification
from app.ledger.overview import ledger_overview
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp


def last_failed_verification() -> LedgerVerification | None:
    """The most recent finished verification if it failed, else ``None``."""
    last = db.session.scalar(
        select(LedgerVerification)
        .where(LedgerVerification.finished_at.is_not(None))
        .order_by(LedgerVerification.id.desc())
        .limit(1)
    )
    return last if last is not None and last.ok is False else None


@bp.app_template_filter("cell")
def cell(value) -> str:
    """How a table cell shows a value: UTC times to the second, a dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


@bp.context_processor
def integrity_banner() -> dict:
    """Every console page learns whether the last ledger verification failed."""
    return {"integrity_failure": last_failed_verification()}


@bp.get("/")
@roles_required(OFFICER)
def home():
    """Overview: ledger size, latest checkpoint, consent totals."""
    last = verification_history(db.session, limit=1)
    return render_template(
        "compliance/home.html",
        overview=ledger_overview(db.session),
        requests=request_counts(db.session),
        last_verification=last[0] if last else None,
    )
