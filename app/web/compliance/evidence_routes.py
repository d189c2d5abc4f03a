"""Compliance console: finding a customer and assembling their evidence package."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.compliance.evidence import build_evidence, check_reason, package_zip
from app.customers.models import Customer
from app.errors import InvalidInput
from app.extensions import db
from app.ledger.models import ConsentEvent
from app.outbox.models import SendLog
from app.vault.directory import find_customer_by_email
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp, officer_actor


def _customer_or_404(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    return customer


@bp.get("/customers")
@roles_required(OFFICER)
def customers():
    """Find a customer by e-mail address (blind index) to open their records."""
    email = (request.args.get("email") or "").strip()[:320]
    error = None
    if email:
        customer = find_customer_by_email(db.session, email)
        if customer is not None:
            return redirect(url_for("compliance.customer", customer_id=customer.id))
        error = "No customer holds this e-mail address (or the customer was erased)."
    status = 404 if error else 200
    return render_template("compliance/customers.html", email=email, error=error), status


def _summary(customer: Customer) -> dict:
    events = db.session.scalar(
        select(func.count())
        .select_from(ConsentEvent)
        .where(ConsentEvent.customer_ref == customer.ref)
    )
    messages = db.session.scalar(
        select(func.count()).select_from(SendLog).where(SendLog.customer_id == customer.id)
    )
    return {"events": events or 0, "messages": messages or 0}


@bp.get("/customers/<int:customer_id>")
@roles_required(OFFICER)
def customer(customer_id: int):
    """One customer's records at a glance (pseudonymous; no personal data shown)."""
    row = _customer_or_404(customer_id)
    return render_template(
        "compliance/customer.html", customer=row, summary=_summary(row), reason="", error=None
    )


@bp.post("/customers/<int:customer_id>/evidence")
@roles_required(OFFICER)
def evidence(customer_id: int):
    """Assemble the evidence package: as a zip download, or as the report on screen."""
    row = _customer_or_404(customer_id)
    reason = request.form.get("reason", "")
    try:
        check_reason(reason)
    except InvalidInput as exc:
        return render_template(
            "compliance/customer.html",
            customer=row,
            summary=_summary(row),
            reason=reason,
            error=str(exc),
        ), 400
    package = build_evidence(db.session(), row, actor=officer_actor(), reason=reason)
    if request.form.get("view") == "report":
        return render_template(
            "compliance/evidence_report.html", doc=package.document, standalone=False
        )
    name = f"assenso-evidence-{row.ref}.zip"
    return Response(
        package_zip(package),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
