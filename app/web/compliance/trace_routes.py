"""Compliance console: a customer's messages and "why was this person contacted?"."""

from __future__ import annotations

from flask import abort, render_template, url_for

from app.compliance.tables import Column, Table
from app.compliance.trace import customer_messages, message_trace
from app.customers.models import Customer
from app.extensions import db
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp
from app.web.compliance.exporting import export_response, requested_format

MESSAGE_COLUMNS = (
    Column("id", "Message"),
    Column("created_at", "Queued (UTC)"),
    Column("sent_at", "Sent (UTC)"),
    Column("status", "Status"),
    Column("kind", "Kind"),
    Column("purpose", "Purpose"),
    Column("channel", "Channel"),
    Column("campaign_id", "Campaign"),
    Column("run_id", "Run"),
    Column("decision_rule", "Deciding rule"),
    Column("policy_hash", "Policy SHA-256"),
)


@bp.get("/customers/<int:customer_id>/messages")
@roles_required(OFFICER)
def messages(customer_id: int):
    """Every message queued for one customer; each links to its decision trace."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    rows = []
    for entry in customer_messages(db.session(), customer_id):
        row = {column.key: getattr(entry, column.key) for column in MESSAGE_COLUMNS}
        row["_links"] = {"id": url_for("compliance.trace", outbox_id=entry.id)}
        rows.append(row)
    table = Table(f"customer-{customer.ref}-messages", MESSAGE_COLUMNS, rows)
    fmt = requested_format()
    if fmt is not None:
        return export_response(table, fmt)
    return render_template("compliance/messages.html", customer=customer, table=table)


@bp.get("/messages/<bigid:outbox_id>")
@roles_required(OFFICER)
def trace(outbox_id: int):
    """The full decision trace of one message: recorded facts and the rule-by-rule trace."""
    found = message_trace(db.session(), outbox_id)
    if found is None:
        abort(404)
    return render_template("compliance/trace.html", t=found)
