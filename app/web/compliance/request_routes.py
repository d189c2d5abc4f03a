"""Compliance console: data-subject requests — list, file on behalf, and fulfil."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.accounts.models import StaffUser
from app.compliance import request_fulfilment as fulfilment
from app.compliance import request_queries as queries
from app.compliance import requests as dsr
from app.compliance.models import REQUEST_KINDS, DataSubjectRequest
from app.compliance.request_identity import record_verification
from app.compliance.request_looks import details_of_look, look_at_details
from app.compliance.tables import Column, Table
from app.errors import AssensoError, InvalidInput
from app.extensions import db
from app.models_base import utcnow
from app.vault.directory import find_customer_by_email
from app.vault.fields import HELD_FIELDS
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp, officer_actor
from app.web.compliance.exporting import export_response, requested_format
from app.web.errors import bad_request
from app.web.ids import parse_id

COLUMNS = (
    Column("id", "Request"),
    Column("kind", "Kind"),
    Column("status", "Status"),
    Column("urgency", "Deadline status"),
    Column("received_at", "Received (UTC)"),
    Column("due_at", "Due (UTC)"),
    Column("extended", "Extended"),
    Column("channel", "Arrived via"),
    Column("assignee", "Assignee"),
    Column("customer_ref", "Customer (pseudonym)"),
    Column("closed_at", "Closed (UTC)"),
)


def _staff_names() -> dict[int, str]:
    """Every staff account's e-mail by id (an assignee may have left or changed role)."""
    rows = db.session.execute(select(StaffUser.id, StaffUser.email))
    return {staff_id: email for staff_id, email in rows}


def _urgency(row: DataSubjectRequest, now: datetime) -> str:
    if row.status not in ("received", "in_progress"):
        return "closed"
    if row.due_at < now:
        return "OVERDUE"
    days = (row.due_at - now).days
    return f"due in {days} day{'s' if days != 1 else ''}"


def _table(rows: list[DataSubjectRequest]) -> Table:
    names = _staff_names()
    now = utcnow()
    out = []
    for row in rows:
        item = {c.key: getattr(row, c.key, None) for c in COLUMNS}
        item.update(
            urgency=_urgency(row, now),
            extended=row.extended_at is not None,
            assignee=None if row.assignee_id is None else names.get(row.assignee_id),
            _links={"id": url_for("compliance.request_detail", request_id=row.id)},
            _overdue=dsr.is_overdue(row, now),
        )
        out.append(item)
    return Table("data-subject-requests", COLUMNS, out)


@bp.get("/requests")
@roles_required(OFFICER)
def requests():
    """Requests, most urgent first; overdue ones stand out; filters and exports."""
    flt, errors = queries.parse_request_filter(request.args)
    fmt = requested_format()
    if errors:
        if fmt is not None:
            bad_request(" ".join(errors.values()))
        rows = []
    else:
        rows = queries.list_requests(db.session, flt)
    table = _table(rows)
    if fmt is not None:
        return export_response(table, fmt)
    page = render_template(
        "compliance/requests.html",
        table=table,
        flt=flt,
        errors=errors,
        kinds=REQUEST_KINDS,
        labels=dsr.KIND_LABELS,
        counts=queries.request_counts(db.session),
    )
    return page, (400 if errors else 200)


def _received(text: str) -> datetime | None:
    if not text:
        return None
    day = date.fromisoformat(text)
    return datetime.combine(day, time(12, 0), UTC) if day != date.today() else utcnow()


@bp.route("/requests/new", methods=["GET", "POST"])
@roles_required(OFFICER)
def new_request():
    """File a request on a customer's behalf (by letter, phone or e-mail to the operator)."""
    form = {"email": "", "kind": "", "received": date.today().isoformat(), "details": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form.update({k: (request.form.get(k) or "").strip() for k in form})
        customer = find_customer_by_email(db.session, form["email"]) if form["email"] else None
        if customer is None:
            errors["email"] = "No customer holds this e-mail address (or it was erased)."
        if form["kind"] not in REQUEST_KINDS:
            errors["kind"] = "Choose the kind of request."
        try:
            received = _received(form["received"])
        except ValueError:
            errors["received"], received = "Enter the date as YYYY-MM-DD.", None
        if not errors:
            try:
                row = dsr.file_request(
                    db.session,
                    customer,
                    form["kind"],
                    channel="staff",
                    actor=officer_actor(),
                    details=form["details"],
                    received_at=received,
                )
            except AssensoError as exc:
                errors["details"] = str(exc)
            else:
                flash(f"Request #{row.id} recorded; due {row.due_at:%Y-%m-%d}.", "success")
                return redirect(url_for("compliance.request_detail", request_id=row.id), code=303)
    status = 400 if errors else 200
    return render_template(
        "compliance/request_new.html",
        form=form,
        errors=errors,
        kinds=REQUEST_KINDS,
        labels=dsr.KIND_LABELS,
    ), status


def _assignee(text: str) -> int | None:
    """The staff id chosen in the assignment list; ``None`` for "no one"."""
    if not text:
        return None
    staff_id = parse_id(text)
    if staff_id is None:
        raise InvalidInput("Choose the assignee from the list of staff.")
    return staff_id


def _load(request_id: int) -> DataSubjectRequest:
    return dsr.get_request(db.session(), request_id)  # NotFound: a 404 (app/web/errors.py)


def _detail(
    row: DataSubjectRequest,
    status: int = 200,
    error: str | None = None,
    details: str | None = None,
    form: dict | None = None,
):
    if details is None and error is None and request.args.get("look"):
        details, error, status = _looked_at(row)
    return render_template(
        "compliance/request_detail.html",
        r=row,
        overdue=dsr.is_overdue(row),
        urgency=_urgency(row, utcnow()),
        history=queries.history(db.session(), row),
        staff=dsr.assignable_staff(db.session()),
        labels=dsr.KIND_LABELS,
        fields=[name for name in HELD_FIELDS if name != "email"] + ["email"],
        error=error,
        details=details,
        form=form or {},
    ), status


def _looked_at(row: DataSubjectRequest) -> tuple[str | None, str | None, int]:
    """The details shown by the look named in the query string: (details, error, status)."""
    look = parse_id(request.args.get("look", ""))
    if look is None:
        return None, "The look must be named by its number.", 400
    try:
        text = details_of_look(db.session(), row, look, actor=officer_actor())
    except AssensoError as exc:
        return None, str(exc), exc.status
    return text, None, 200


HISTORY_COLUMNS = (
    Column("at", "When (UTC)"),
    Column("actor", "Who"),
    Column("action", "What"),
    Column("note", "Note"),
)


@bp.get("/requests/<int:request_id>")
@roles_required(OFFICER)
def request_detail(request_id: int):
    """One request: deadline, history and the actions that fulfil it.

    ``?format=csv|json`` exports its history.
    """
    row = _load(request_id)
    fmt = requested_format()
    if fmt is not None:
        rows = [
            {c.key: getattr(h, c.key) for c in HISTORY_COLUMNS}
            for h in queries.history(db.session(), row)
        ]
        return export_response(Table(f"request-{row.id}-history", HISTORY_COLUMNS, rows), fmt)
    return _detail(row)


def _mail_flash(mailed: bool, success: str) -> None:
    if mailed:
        flash(success, "success")
    else:
        flash(
            "The request is fulfilled, but the e-mail could not be sent: send the link again "
            "later, or answer the customer by other means.",
            "error",
        )


@bp.post("/requests/<int:request_id>/<action>")
@roles_required(OFFICER)
def request_action(request_id: int, action: str):
    """Act on a request: assign, extend, refuse, show details, verify the requester's
    identity, fulfil it, or send an export's download link again."""
    row = _load(request_id)
    actor = officer_actor()
    form = request.form
    try:
        if action == "assign":
            dsr.assign(db.session(), row, _assignee(form.get("assignee", "")), actor=actor)
            flash("Assignment saved.", "success")
        elif action == "extend":
            dsr.extend(db.session(), row, form.get("reason"), actor=actor)
            flash(f"Deadline extended to {row.due_at:%Y-%m-%d}.", "success")
        elif action == "refuse":
            dsr.refuse(db.session(), row, form.get("reason"), actor=actor)
            flash("Request closed as refused.", "success")
        elif action == "details":
            look = look_at_details(db.session(), row, actor=actor)
            return redirect(
                url_for(
                    "compliance.request_detail", request_id=row.id, look=look, _anchor="details"
                ),
                code=303,
            )
        elif action == "export":
            mailed = fulfilment.fulfil_export(db.session(), row, actor=actor)
            _mail_flash(mailed, "The download link was e-mailed to the customer.")
        elif action == "resend":
            mailed = fulfilment.resend_export(db.session(), row, actor=actor)
            _mail_flash(mailed, "A new download link was e-mailed; the previous one is revoked.")
        elif action == "verify":
            record_verification(db.session(), row, form.get("method"), actor=actor)
            flash("The requester's identity is recorded as verified.", "success")
        elif action == "rectify":
            fulfilment.fulfil_rectification(
                db.session(), row, form.get("field", ""), form.get("value", ""), actor=actor
            )
            flash(f"Field {form.get('field')} corrected.", "success")
        elif action == "complete":
            fulfilment.complete(db.session(), row, actor=actor, outcome=form.get("outcome", ""))
            flash("Request fulfilled.", "success")
        elif action == "erase":
            fulfilment.fulfil_erasure(db.session(), row, form.get("confirm", ""), actor=actor)
            flash("The customer's data was erased by crypto-shredding.", "success")
        elif action == "object":
            fulfilment.fulfil_objection(db.session(), row, actor=actor)
            flash("The objection is recorded in the ledger.", "success")
        else:
            abort(404)
    except AssensoError as exc:
        db.session.rollback()
        return _detail(
            row,
            status=exc.status,
            error=str(exc),
            form={k: v for k, v in form.items() if k != "csrf_token"},
        )
    except ValueError as exc:
        db.session.rollback()
        return _detail(row, status=400, error=str(exc))
    return redirect(url_for("compliance.request_detail", request_id=row.id), code=303)
