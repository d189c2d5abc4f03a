"""Portal page "My requests": ask to see, take, correct or erase your data, or object."""

from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.compliance import request_queries as queries
from app.compliance import requests as dsr
from app.compliance.models import REQUEST_KINDS
from app.errors import AssensoError
from app.extensions import db
from app.web.access import customer_required
from app.web.portal import bp
from app.web.portal.rendering import customer, flash_problem, render

KIND_CHOICES = {
    "access": _l("See the data you hold about me (access)"),
    "export": _l("Receive my data to take elsewhere (portability)"),
    "rectification": _l("Correct data about me (rectification)"),
    "erasure": _l("Erase my data (erasure)"),
    "objection": _l("Stop all direct marketing to me (objection)"),
}
STATUS_LABELS = {
    "received": _l("received"),
    "in_progress": _l("in progress"),
    "fulfilled": _l("fulfilled"),
    "refused": _l("refused"),
}

#: Outcomes the system writes, as the customer reads them; an officer's own words are shown as
#: written.
OUTCOMES = {
    "downloaded by the customer in the portal": _l("You downloaded your data here."),
    "account deleted by the customer in the portal (crypto-shredding)": _l(
        "You deleted your account here; the key to your data was destroyed."
    ),
    "export produced for the customer": _l("Your data was exported for you."),
    "rectified": _l("Your data was corrected."),
    "data key and data destroyed (crypto-shredding)": _l(
        "Your data and the key to it were destroyed."
    ),
}
OBJECTION_OUTCOME = re.compile(r"objection recorded \(ledger entry (\d+)\)")


def outcome_text(outcome: str | None) -> str:
    """A request's outcome in the customer's language where the system wrote it."""
    if not outcome:
        return "—"
    if outcome in OUTCOMES:
        return str(OUTCOMES[outcome])
    found = OBJECTION_OUTCOME.fullmatch(outcome)
    if found:
        return _("Your objection is recorded (ledger entry %(seq)s).", seq=found.group(1))
    return outcome


def _page(status: int = 200, form: dict | None = None, error: str | None = None):
    return render(
        "portal/requests.html",
        status,
        requests=queries.customer_requests(db.session(), customer()),
        kinds=KIND_CHOICES,
        statuses=STATUS_LABELS,
        outcome_text=outcome_text,
        form=form or {},
        error=error,
    )


@bp.get("/requests")
@customer_required
def requests():
    """The customer's requests with their deadlines, and a form to make a new one."""
    return _page()


@bp.post("/requests")
@customer_required
def file_request():
    """File a request; the legal deadline starts now."""
    kind = request.form.get("kind", "")
    details = request.form.get("details", "")
    form = {"kind": kind, "details": details}
    if kind not in REQUEST_KINDS:
        return _page(400, form, _("Choose what you are asking for."))
    try:
        row = dsr.file_request(
            db.session, customer(), kind, channel="portal", actor="customer", details=details
        )
    except AssensoError as exc:
        return _page(flash_problem(exc), form)
    flash(
        _(
            "Your request is recorded. We answer by %(date)s at the latest.",
            date=row.due_at.strftime("%Y-%m-%d"),
        ),
        "success",
    )
    return redirect(url_for("portal.requests"), code=303)
